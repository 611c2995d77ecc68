/** A field the server refused, as in the `errors` of a `400 invalid_request`. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * Every failure of the auth client: `code` is the server's stable problem code (`invalid_credentials`,
 * `weak_password`, `csrf_rejected`, ...) or, for failures before an answer, `network_error`.
 * `status` is the HTTP status (0 when no answer arrived).
 */
export class AuthClientError extends Error {
  override readonly name = 'AuthClientError';
  readonly code: string;
  readonly status: number;
  /** Per-field reasons of a `400 invalid_request`. */
  readonly errors: FieldError[];
  /** Seconds to wait, from `Retry-After` of a 429. */
  readonly retryAfter: number | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    details: { errors?: FieldError[]; retryAfter?: number | undefined } = {},
  ) {
    super(message);
    this.code = code;
    this.status = status;
    this.errors = details.errors ?? [];
    this.retryAfter = details.retryAfter;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The RFC 9457 problem of an error response, read defensively (the body may not be JSON at all). */
export async function readProblem(response: Response): Promise<AuthClientError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): the status alone describes it.
  }
  const problem = isObject(body) ? body : {};
  const code = typeof problem.code === 'string' ? problem.code : `http_${response.status}`;
  const title = typeof problem.title === 'string' ? problem.title : `HTTP ${response.status}`;
  const errors = Array.isArray(problem.errors)
    ? problem.errors.filter(
        (e): e is FieldError => isObject(e) && typeof e.path === 'string' && typeof e.message === 'string',
      )
    : [];
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  return new AuthClientError(code, response.status, title, {
    errors,
    retryAfter: Number.isFinite(retryAfter) ? retryAfter : undefined,
  });
}
