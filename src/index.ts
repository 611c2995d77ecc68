export { createAuth, type Auth } from './create-auth.js';
export type { AuthOptions, ResolvedOptions } from './core/options.js';
export { isSecureOrigin } from './core/options.js';
export { AuthError, OverloadedError, StoreUnavailableError, type ErrorCode, type FieldError } from './core/errors.js';
export { UnreadableSigningKeysError } from './tokens/unreadable-signing-keys-error.js';
export { OtherAlgorithmError } from './tokens/other-algorithm-error.js';
export { createManualClock, systemClock, type Clock } from './core/clock.js';
export type { AuthLogger } from './core/logger.js';
export {
  createArgon2idHasher,
  DEFAULT_ARGON2ID,
  type Argon2idHasherOptions,
  type Argon2idParameters,
  type PasswordHasher,
} from './core/password-hasher.js';
export { createConcurrencyLimit, type ConcurrencyLimit } from './core/concurrency-limit.js';
export { normalizeEmail } from './core/email.js';
export { checkNewPassword, normalizePassword } from './core/password-policy.js';
export {
  createMemoryLimiter,
  DEFAULT_ACCOUNT_POLICY,
  DEFAULT_ADDRESS_POLICY,
  DEFAULT_REGISTRATION_POLICY,
  type AttemptLimiter,
  type BackoffPolicy,
  type MemoryLimiter,
} from './core/throttle.js';
export { toPublicUser, type PublicUser } from './core/user.js';
export { sessionExpiresAt, type ClientInfo } from './core/sessions.js';
export type { Identity, AuthOutcome, BearerVerifier, RequestFacts } from './http/authenticate.js';
export type { RequestContext } from './http/handler.js';
export { problemBody, statusOf, type ProblemBody } from './http/problem.js';
export type {
  Role,
  SessionMethod,
  SessionRecord,
  SessionStore,
  Store,
  UserProfile,
  UserRecord,
  UserStore,
} from './store/types.js';
