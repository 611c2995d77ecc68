import type { UserRecord } from '../store/types.js';
import { normalizeEmail } from './email.js';
import { AuthError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import {
  checkNewPassword,
  describePasswordProblem,
  MAX_PASSWORD_LENGTH,
  normalizePassword,
  passwordLength,
} from './password-policy.js';
import { generateId, generateSecret } from './random.js';

export interface RegisterInput {
  email: string;
  password: string;
  name?: string | null;
  /** Only for operators (CLI, admin code); self-registration always gets the default role. */
  role?: string;
}

export interface Credentials {
  email: string;
  password: string;
}

const MAX_NAME_LENGTH = 100;
const HALF_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function requireEmail(input: string, path = 'email'): string {
  const email = normalizeEmail(input);
  if (email === null) {
    throw new AuthError('invalid_request', 'The request is invalid.', {
      errors: [{ path, message: 'Must be an email address.' }],
    });
  }
  return email;
}

function cleanName(name: string | null | undefined): string | null {
  if (name === undefined || name === null) return null;
  const cleaned = name.normalize('NFC').trim();
  if (
    cleaned.length === 0 ||
    cleaned.length > MAX_NAME_LENGTH ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001F\u007F-\u009F]/.test(cleaned) ||
    // Half a surrogate pair cannot be stored as UTF-8: the store would keep something else than
    // the 201 answered (SQLite its raw bytes, read back as U+FFFD, Postgres U+FFFD at once).
    HALF_SURROGATE.test(cleaned)
  ) {
    throw new AuthError('invalid_request', 'The request is invalid.', {
      errors: [{ path: 'name', message: `Must be 1 to ${MAX_NAME_LENGTH} printable characters.` }],
    });
  }
  return cleaned;
}

function requireStrongPassword(password: string, email: string, path: string): string {
  const normalized = normalizePassword(password);
  const problem = checkNewPassword(normalized, { email });
  if (problem) {
    throw new AuthError('weak_password', 'The password is not acceptable.', {
      errors: [{ path, message: describePasswordProblem(problem) }],
    });
  }
  return normalized;
}

/** Users and their passwords: registration, credential checks, password and role changes. */
export class AccountManager {
  readonly #options: ResolvedOptions;
  /** Verified when the email is unknown, so that a miss costs what a hit costs. */
  readonly #dummyHash: Promise<string>;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#dummyHash = options.passwordHasher.hash(generateSecret());
    // Surface a broken hasher at first use, not as an unhandled rejection now.
    this.#dummyHash.catch(() => undefined);
  }

  async register(input: RegisterInput): Promise<UserRecord> {
    const email = requireEmail(input.email);
    const name = cleanName(input.name);
    const password = requireStrongPassword(input.password, email, 'password');
    const { store, clock, passwordHasher } = this.#options;
    const now = clock.now();
    const user: UserRecord = {
      id: generateId('usr'),
      email,
      name,
      role: input.role ?? this.#options.defaultRole,
      passwordHash: await passwordHasher.hash(password),
      createdAt: now,
      updatedAt: now,
    };
    const created = await store.users.create(user);
    if (!created) throw new AuthError('email_taken', 'An account with this email already exists.');
    return created;
  }

  /** Canonical email for throttling keys; throws `invalid_request` when it is not an email. */
  normalizeLoginEmail(email: string): string {
    return requireEmail(email);
  }

  /**
   * The user whose credentials these are, or `null`. Costs one password verification either way.
   * A legacy or weaker hash is replaced by a fresh argon2id hash on success.
   */
  async verifyCredentials(credentials: Credentials): Promise<UserRecord | null> {
    const email = requireEmail(credentials.email);
    const password = normalizePassword(credentials.password);
    const { store, passwordHasher } = this.#options;
    const user = await store.users.findByEmail(email);
    if (passwordLength(password) > MAX_PASSWORD_LENGTH) {
      // No stored password can be this long; refusing before hashing keeps 10 KiB inputs cheap.
      return null;
    }
    if (!user) {
      await passwordHasher.verify(await this.#dummyHash, password);
      return null;
    }
    if (!(await passwordHasher.verify(user.passwordHash, password))) return null;
    if (passwordHasher.needsRehash(user.passwordHash)) await this.#rehash(user, password);
    return user;
  }

  async #rehash(user: UserRecord, password: string): Promise<void> {
    const now = this.#options.clock.now();
    const passwordHash = await this.#options.passwordHasher.hash(password);
    // Only over the hash just verified: a password change that landed meanwhile stands.
    const replacing = { replacing: user.passwordHash };
    if (await this.#options.store.users.updatePasswordHash(user.id, passwordHash, now, replacing)) {
      user.passwordHash = passwordHash;
      user.updatedAt = now;
    }
  }

  /**
   * Whether `password` (verified by `verifyCredentials` as `user`'s) is still the user's, asked once
   * a login has made its session. A password change that landed while the login checked the old
   * password ends the other sessions before this one exists; this session must not outlive it. A
   * read, and a verification only when the hash changed meanwhile (a change, or another login's rehash).
   */
  async passwordStillHolds(user: UserRecord, password: string): Promise<boolean> {
    const fresh = await this.#options.store.users.findById(user.id);
    if (!fresh) return false;
    if (fresh.passwordHash === user.passwordHash) return true;
    return this.#options.passwordHasher.verify(fresh.passwordHash, normalizePassword(password));
  }

  /**
   * Checks the current password, then stores the new one. Throws `invalid_credentials`/`weak_password`.
   * `beforeUpdate` runs once both checks passed and before the new hash is written (ending the
   * user's other sessions there means a failure can never leave the new password with them alive).
   * The hash checked is read here, fresh: a request's identity does not carry it.
   */
  async changePassword(
    account: Pick<UserRecord, 'id'>,
    currentPassword: string,
    newPassword: string,
    options: { beforeUpdate?: () => Promise<void> } = {},
  ): Promise<void> {
    const { passwordHasher, store, clock } = this.#options;
    const user = await store.users.findById(account.id);
    if (!user) throw new AuthError('unauthenticated', 'The account no longer exists.');
    const current = normalizePassword(currentPassword);
    const valid =
      passwordLength(current) <= MAX_PASSWORD_LENGTH && (await passwordHasher.verify(user.passwordHash, current));
    if (!valid) throw new AuthError('invalid_credentials', 'The current password is wrong.');
    const next = requireStrongPassword(newPassword, user.email, 'newPassword');
    // Not a change: it would end every other device and leave a thief who knows it where he was.
    if (next === current) {
      throw new AuthError('weak_password', 'The password is not acceptable.', {
        errors: [{ path: 'newPassword', message: 'The new password must differ from the current one.' }],
      });
    }
    const passwordHash = await passwordHasher.hash(next);
    await options.beforeUpdate?.();
    if (!(await store.users.updatePasswordHash(user.id, passwordHash, clock.now()))) {
      throw new AuthError('unauthenticated', 'The account no longer exists.');
    }
  }

  async setRole(userId: string, role: string): Promise<boolean> {
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(role)) throw new TypeError('coatcheck: a role is 1-32 of a-z, 0-9, _ and -');
    return this.#options.store.users.updateRole(userId, role, this.#options.clock.now());
  }
}
