import { expect } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type {
  RefreshFamilyRecord,
  RotateRefreshFamily,
  SessionRecord,
  SigningKeyRecord,
  UserRecord,
} from '../../src/store/types.js';

/** Records for store tests: unique ids, fixed times (Unix ms) from 2026-01-01, nothing random. */
export const T0 = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;

let counter = 0;
function nextId(prefix: string): string {
  counter += 1;
  return `${prefix}_${counter.toString().padStart(6, '0')}`;
}

export function makeUser(overrides: Partial<UserRecord> = {}): UserRecord {
  const id = overrides.id ?? nextId('usr');
  return {
    id,
    email: `${id}@example.com`,
    name: null,
    role: 'user',
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function makeSession(userId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const id = overrides.id ?? nextId('ses');
  return {
    id,
    secretHash: `hash-of-${id}`,
    userId,
    method: 'session',
    createdAt: T0,
    lastSeenAt: T0,
    idleExpiresAt: T0 + 30 * MINUTE,
    absoluteExpiresAt: T0 + 24 * 60 * MINUTE,
    userAgent: 'Mozilla/5.0',
    ip: '203.0.113.7',
    ...overrides,
  };
}

/** A distinct stand-in for a SHA-256 (base64url) token hash. */
export function makeTokenHash(): string {
  return nextId('hash');
}

/** A family as `RefreshTokens.start` creates it: generation 0, never rotated. */
export function makeRefreshFamily(
  session: Pick<SessionRecord, 'id' | 'userId'>,
  overrides: Partial<RefreshFamilyRecord> = {},
): RefreshFamilyRecord {
  return {
    id: nextId('rfm'),
    sessionId: session.id,
    userId: session.userId,
    currentHash: makeTokenHash(),
    previousHash: null,
    successorSealed: null,
    rotatedAt: null,
    generation: 0,
    createdAt: T0,
    lastUsedAt: T0,
    idleExpiresAt: T0 + 30 * MINUTE,
    absoluteExpiresAt: T0 + 24 * 60 * MINUTE,
    ...overrides,
  };
}

/** The next token of a family whose live token has hash `previousHash`, issued at `at`. */
export function makeRotation(previousHash: string, at: number): RotateRefreshFamily {
  return {
    currentHash: makeTokenHash(),
    previousHash,
    successorSealed: `sealed-successor-of-${previousHash}`,
    rotatedAt: at,
    lastUsedAt: at,
    idleExpiresAt: at + 30 * MINUTE,
  };
}

export function makeSigningKey(overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  const kid = overrides.kid ?? nextId('kid');
  return {
    kid,
    alg: 'EdDSA',
    publicJwk: `{"kty":"OKP","crv":"Ed25519","x":"${kid}"}`,
    privateJwkSealed: `sealed-private-jwk-of-${kid}`,
    createdAt: T0,
    retiredAt: null,
    expiresAt: null,
    ...overrides,
  };
}

/** The call rejects as a bug in the caller does: a plain `Error` (a 500), not `StoreUnavailableError` (a 503). */
export async function expectCallerBug(call: Promise<unknown>): Promise<void> {
  const failure: unknown = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(Error);
  expect(failure).not.toBeInstanceOf(StoreUnavailableError);
}
