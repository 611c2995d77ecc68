/**
 * True when a JSON text has an object with the same key twice. `JSON.parse` silently keeps the
 * last one, and two parsers that disagree about which one wins is how signature checks get
 * bypassed; so tokens whose header or payload repeat a key are refused outright.
 *
 * This is a scanner, not a parser: it only tracks which keys each open object has seen. Text that
 * is not JSON is reported as suspect (true) rather than scanned further.
 */
export function hasDuplicateKeys(json: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let i = 0;
  const length = json.length;
  while (i < length) {
    const char = json[i]!;
    if (char === '"') {
      let end = i + 1;
      while (end < length && json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      // Not JSON after all (an unterminated string): treat it as suspect rather than scan on.
      if (end >= length) return true;
      const raw = json.slice(i, end + 1);
      i = end + 1;
      while (i < length && (json[i] === ' ' || json[i] === '\t' || json[i] === '\n' || json[i] === '\r')) i++;
      const keys = stack[stack.length - 1];
      if (json[i] === ':' && keys) {
        // Decode escapes so that "a" and "\u0061" count as the same key.
        let key: string;
        try {
          key = JSON.parse(raw) as string;
        } catch {
          return true;
        }
        if (keys.has(key)) return true;
        keys.add(key);
      }
      continue;
    }
    if (char === '{') stack.push(new Set());
    else if (char === '[') stack.push(null);
    else if (char === '}' || char === ']') stack.pop();
    i++;
  }
  return false;
}
