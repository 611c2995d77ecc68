/**
 * The stable error codes of coatcheck. Clients and tests branch on these; they never change meaning.
 * The HTTP status of each lives in one table (`src/http/problem.ts`).
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'weak_password'
  | 'email_taken'
  | 'invalid_credentials'
  | 'unauthenticated'
  | 'invalid_token'
  | 'invalid_refresh_token'
  | 'refresh_token_reused'
  | 'ambiguous_credentials'
  | 'forbidden'
  | 'csrf_rejected'
  | 'not_found'
  | 'method_not_allowed'
  | 'too_many_attempts'
  | 'store_unavailable'
  | 'internal_error';

export interface FieldError {
  path: string;
  message: string;
}

/** A refusal that the client caused and can act on. Messages name fields, never values. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;
  /** Seconds, for `too_many_attempts`. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: { errors?: FieldError[]; retryAfter?: number } = {}) {
    super(message);
    this.code = code;
    this.errors = options.errors;
    this.retryAfter = options.retryAfter;
  }
}

/** The backing store could not be reached or timed out. Requests that need it fail closed (503). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message = 'The store is unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * More work is waiting than the process will queue (password hashing under a login flood, say).
 * Failing fast keeps memory and latency bounded; the HTTP layer answers 503, as for a store outage.
 */
export class OverloadedError extends Error {
  override readonly name = 'OverloadedError';
}
