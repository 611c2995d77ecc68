import type { ErrorCode, FieldError } from '../core/errors.js';

/** One table from code to status and title: the whole HTTP error vocabulary of coatcheck. */
const PROBLEMS: Record<ErrorCode, { status: number; title: string }> = {
  invalid_request: { status: 400, title: 'The request is invalid' },
  invalid_json: { status: 400, title: 'The body is not valid JSON' },
  weak_password: { status: 400, title: 'The password is not acceptable' },
  ambiguous_credentials: { status: 400, title: 'The request carries more than one credential of a kind' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_credentials: { status: 401, title: 'The email or password is wrong' },
  invalid_token: { status: 401, title: 'The access token is not valid' },
  invalid_refresh_token: { status: 401, title: 'The refresh token is not valid' },
  refresh_token_reused: { status: 401, title: 'The refresh token was already used; the session has been ended' },
  forbidden: { status: 403, title: 'You may not do this' },
  csrf_rejected: { status: 403, title: 'The request did not come from an allowed origin' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  email_taken: { status: 409, title: 'An account with this email already exists' },
  payload_too_large: { status: 413, title: 'The body is too large' },
  unsupported_media_type: { status: 415, title: 'The body must be application/json' },
  too_many_attempts: { status: 429, title: 'Too many attempts' },
  internal_error: { status: 500, title: 'Something went wrong on our side' },
  store_unavailable: { status: 503, title: 'The service is temporarily unavailable' },
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  errors?: FieldError[];
}

export function statusOf(code: ErrorCode): number {
  return PROBLEMS[code].status;
}

export function problemBody(code: ErrorCode, options: { detail?: string; errors?: FieldError[] } = {}): ProblemBody {
  const { status, title } = PROBLEMS[code];
  const body: ProblemBody = { type: `urn:coatcheck:error:${code}`, title, status, code };
  if (options.detail !== undefined) body.detail = options.detail;
  if (options.errors !== undefined) body.errors = options.errors;
  return body;
}

/** 401s say how to authenticate (RFC 6750); a rejected bearer token says so. */
export function wwwAuthenticate(code: ErrorCode, options: { bearerRejected?: boolean } = {}): string {
  return options.bearerRejected || code === 'invalid_token'
    ? 'Bearer realm="coatcheck", error="invalid_token"'
    : 'Bearer realm="coatcheck"';
}
