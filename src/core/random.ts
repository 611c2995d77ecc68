import { hash, randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG, base64url (43 characters): session secrets and refresh tokens. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A public, unguessable identifier with a type prefix, e.g. `ses_…` (128 bits). */
export function generateId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

/** What the store keeps instead of a secret: its SHA-256, base64url. */
export function hashSecret(secret: string): string {
  // The one-shot form: a third of `createHash`'s cost, and this runs on every cookie request.
  return hash('sha256', secret, 'base64url');
}

const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** True when the string has the exact shape of a secret we issue; anything else is not looked up. */
export function isWellFormedSecret(value: string): boolean {
  return SECRET_PATTERN.test(value);
}
