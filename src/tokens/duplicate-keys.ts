const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
// Up to this many keys an object's keys are compared in a list; past it, in a set.
const LIST_LIMIT = 16;

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** The keys one open object has seen: a short list first (no hashing), a set if it grows. */
class KeysSeen {
  #list: string[] = [];
  #set: Set<string> | null = null;

  /** False when `key` was seen before. */
  add(key: string): boolean {
    if (this.#set !== null) {
      if (this.#set.has(key)) return false;
      this.#set.add(key);
      return true;
    }
    if (this.#list.includes(key)) return false;
    this.#list.push(key);
    if (this.#list.length > LIST_LIMIT) this.#set = new Set(this.#list);
    return true;
  }
}

/**
 * True when a JSON text has an object with the same key twice. `JSON.parse` silently keeps the
 * last one, and two parsers that disagree about which one wins is how signature checks get
 * bypassed; so tokens whose header or payload repeat a key are refused outright.
 *
 * This is a scanner, not a parser: it only tracks which keys each open object has seen. Text that
 * is not JSON is reported as suspect (true) rather than scanned further. It runs on every access
 * token verified: text without a backslash (every token coatcheck issues) has no escapes, so each
 * string ends at the next quote and each key is its raw text.
 */
export function hasDuplicateKeys(json: string): boolean {
  const escapes = json.includes('\\');
  const stack: (KeysSeen | null)[] = [];
  let i = 0;
  const length = json.length;
  while (i < length) {
    const code = json.charCodeAt(i);
    if (code === QUOTE) {
      const start = i;
      const end = escapes ? endOfEscapedString(json, i) : json.indexOf('"', i + 1);
      // Not JSON after all (an unterminated string): treat it as suspect rather than scan on.
      if (end === -1) return true;
      i = end + 1;
      while (i < length && isJsonWhitespace(json.charCodeAt(i))) i++;
      const keys = stack[stack.length - 1];
      if (keys && json.charCodeAt(i) === COLON) {
        let key: string;
        if (escapes) {
          // Decode escapes so that "a" and "\u0061" count as the same key.
          try {
            key = JSON.parse(json.slice(start, end + 1)) as string;
          } catch {
            return true;
          }
        } else {
          key = json.slice(start + 1, end);
        }
        if (!keys.add(key)) return true;
      }
      continue;
    }
    if (code === OPEN_OBJECT) stack.push(new KeysSeen());
    else if (code === OPEN_ARRAY) stack.push(null);
    else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) stack.pop();
    i++;
  }
  return false;
}

/** The index of the quote that closes the string opening at `start`, or -1. */
function endOfEscapedString(json: string, start: number): number {
  let end = start + 1;
  while (end < json.length) {
    const code = json.charCodeAt(end);
    if (code === QUOTE) return end;
    end += code === BACKSLASH ? 2 : 1;
  }
  return -1;
}

/**
 * The same verdict as `hasDuplicateKeys(json)`, cheaper when `parsed` is `JSON.parse(json)`: a
 * repeated key is one the parser kept once, so the parsed value has fewer keys than the text.
 *
 * Every key is a string followed by a colon, so unless some key is followed by whitespace first,
 * the text holds `":` at least once per key (more when a string contains it). As many `":` as parsed
 * keys therefore means no key was repeated; any other count, or whitespace after a quote, and the
 * scanner decides.
 */
export function repeatsAKey(json: string, parsed: unknown): boolean {
  if (WHITESPACE_AFTER_QUOTE.test(json)) return hasDuplicateKeys(json);
  let marks = 0;
  for (let at = json.indexOf('":'); at !== -1; at = json.indexOf('":', at + 2)) marks++;
  return marks === countKeys(parsed) ? false : hasDuplicateKeys(json);
}

const WHITESPACE_AFTER_QUOTE = /"[ \t\n\r]/;

/** Own keys of every object in a parsed JSON value. */
function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countKeys(item);
    return count;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    count += typeof item === 'object' && item !== null ? 1 + countKeys(item) : 1;
  }
  return count;
}
