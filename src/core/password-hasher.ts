import { availableParallelism } from 'node:os';
import { hash as argon2Hash, parseOptions, verify as argon2Verify, type Options } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { createConcurrencyLimit, type ConcurrencyLimit } from './concurrency-limit.js';

/**
 * Hashes and verifies passwords. Injected into `createAuth` so tests can use cheaper parameters;
 * the default is argon2id at the OWASP minimum or stronger.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password or a hash it cannot read; never throws for either. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** True when the hash should be replaced by `hash(password)` after a successful login. */
  needsRehash(passwordHash: string): boolean;
}

export interface Argon2idParameters {
  /** KiB; at least 19456 (OWASP). */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

// The numeric value of @node-rs/argon2's `Algorithm.Argon2id` (a const enum we cannot import).
const ARGON2ID = 2 as NonNullable<Options['algorithm']>;

export const DEFAULT_ARGON2ID: Argon2idParameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

const BCRYPT_PREFIX = /^\$2[abxy]\$\d{2}\$/;

/**
 * One for the whole process, because every hasher shares libuv's thread pool (4 threads): unbounded,
 * a login burst takes every core of a small machine and cheap requests wait behind it. Cores - 1
 * keeps one core for the event loop. Hashers given their own `limit` are outside it.
 */
export const processHashLimit: ConcurrencyLimit = createConcurrencyLimit(Math.max(1, availableParallelism() - 1));

export interface Argon2idHasherOptions {
  /** Bounds concurrent hashes and verifications. Default: `processHashLimit` (cores - 1, at least 1). */
  limit?: ConcurrencyLimit;
}

/**
 * argon2id for new hashes, computed on libuv's thread pool (off the event loop), at most
 * `limit.max` at a time; when too many wait, `hash` and `verify` reject with `OverloadedError`.
 * Legacy bcrypt hashes verify and report `needsRehash`, so they are upgraded on the next successful login.
 *
 * @example
 * // Two hashes at a time, whatever the number of cores:
 * createArgon2idHasher(DEFAULT_ARGON2ID, { limit: createConcurrencyLimit(2) });
 */
export function createArgon2idHasher(
  parameters: Argon2idParameters = DEFAULT_ARGON2ID,
  options: Argon2idHasherOptions = {},
): PasswordHasher {
  const argon2Options: Options = { algorithm: ARGON2ID, ...parameters };
  const limit = options.limit ?? processHashLimit;
  return {
    hash: (password) => limit.run(() => argon2Hash(password, argon2Options)),
    async verify(passwordHash, password) {
      let check: () => Promise<boolean>;
      if (BCRYPT_PREFIX.test(passwordHash)) check = () => bcryptVerify(password, passwordHash);
      else if (passwordHash.startsWith('$argon2')) check = () => argon2Verify(passwordHash, password);
      else return false;
      // Outside the try: an overloaded process is a 503, never a wrong password.
      return limit.run(async () => {
        try {
          return await check();
        } catch {
          // A corrupt stored hash is a failed login, not a crash (and never a success).
          return false;
        }
      });
    },
    needsRehash(passwordHash) {
      if (!passwordHash.startsWith('$argon2id$')) return true;
      try {
        const current = parseOptions(passwordHash);
        return (
          current.memoryCost < parameters.memoryCost ||
          current.timeCost < parameters.timeCost ||
          current.parallelism < parameters.parallelism
        );
      } catch {
        return true;
      }
    },
  };
}
