function decodeSegment(token: string, index: 0 | 1): Record<string, unknown> {
  const parts = typeof token === 'string' ? token.split('.') : [];
  const segment = parts.length === 3 ? parts[index]! : '';
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) throw new TypeError('Not a compact JWT.');
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('The JWT segment is not a JSON object.');
  }
  return value as Record<string, unknown>;
}

/**
 * Reads a JWT's payload WITHOUT VERIFYING ANYTHING: no signature, no expiry, no issuer. For display
 * (a token inspector) and scheduling only; never decide who someone is from its result. It also
 * shows why a JWT must hold nothing secret: anyone holding the token can read this.
 *
 * @example
 * decodeJwtPayload(token).exp; // seconds since the epoch
 */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  return decodeSegment(token, 1);
}

/** Reads a JWT's protected header WITHOUT VERIFYING ANYTHING (see `decodeJwtPayload`). */
export function decodeJwtHeader(token: string): Record<string, unknown> {
  return decodeSegment(token, 0);
}
