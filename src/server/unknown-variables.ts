/** Every `COATCHECK_*` variable coatcheck reads; a test keeps this in step with the sources. */
export const KNOWN_VARIABLES: readonly string[] = [
  'COATCHECK_ACCESS_TOKEN_TTL',
  'COATCHECK_ALLOWED_ORIGINS',
  'COATCHECK_ALLOW_INSECURE_HTTP',
  'COATCHECK_AUDIENCE',
  'COATCHECK_DANGEROUSLY_ALLOW_LONG_ACCESS_TOKENS',
  'COATCHECK_DATABASE_SCHEMA',
  'COATCHECK_DATA_DIR',
  'COATCHECK_ISSUER',
  'COATCHECK_JWT_ALG',
  'COATCHECK_MIGRATE_ON_START',
  'COATCHECK_ORIGIN',
  'COATCHECK_REDIS_PREFIX',
  'COATCHECK_REFRESH_GRACE',
  'COATCHECK_REVOCATION_WHILE_DISCONNECTED',
  'COATCHECK_SECRET',
  'COATCHECK_SESSION_ABSOLUTE_TTL',
  'COATCHECK_SESSION_IDLE_TTL',
  'COATCHECK_SQLITE_MMAP_BYTES',
  'COATCHECK_TRUST_PROXY',
];

/**
 * One line per `COATCHECK_*` variable that coatcheck does not read, with the known name it most
 * likely meant. A misspelt setting is otherwise silently its default, which for
 * COATCHECK_TRUST_PROXY or COATCHECK_SESSION_IDLE_TTL is not what the operator asked for. Names
 * only: a value may be a secret.
 */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = new Set(KNOWN_VARIABLES);
  return Object.keys(env)
    .filter((name) => name.startsWith('COATCHECK_') && !known.has(name))
    .sort()
    .map((name) => {
      const meant = closest(name);
      return `${name} is not a coatcheck setting and is ignored${meant ? ` (did you mean ${meant}?)` : ''}`;
    });
}

/** The known name within a few edits of `name`, if one is clearly the nearest. */
function closest(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.floor(name.length / 5)) + 1;
  for (const candidate of KNOWN_VARIABLES) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
