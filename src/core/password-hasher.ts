import { hash as argon2Hash, parseOptions, verify as argon2Verify, type Options } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';

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
 * argon2id for new hashes, computed on libuv's thread pool (off the event loop). Legacy bcrypt
 * hashes verify and report `needsRehash`, so they are upgraded on the next successful login.
 */
export function createArgon2idHasher(parameters: Argon2idParameters = DEFAULT_ARGON2ID): PasswordHasher {
  const options: Options = { algorithm: ARGON2ID, ...parameters };
  return {
    hash: (password) => argon2Hash(password, options),
    async verify(passwordHash, password) {
      try {
        if (BCRYPT_PREFIX.test(passwordHash)) return await bcryptVerify(password, passwordHash);
        if (passwordHash.startsWith('$argon2')) return await argon2Verify(passwordHash, password);
        return false;
      } catch {
        // A corrupt stored hash is a failed login, not a crash (and never a success).
        return false;
      }
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
