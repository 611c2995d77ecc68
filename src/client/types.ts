/** How the browser proves who it is: a session cookie, or an in-memory access token + refresh cookie. */
export type LoginMode = 'session' | 'token';

/** A user as the server shows it (never a hash or a secret). */
export interface AuthUser {
  id: string;
  email: string;
  name: string | null;
  role: string;
  createdAt: string;
}

/** `GET /auth/me`. */
export interface MeResult {
  user: AuthUser;
  auth: { method: 'session' | 'bearer'; sessionId: string; expiresAt: string };
}

/** One entry of the device list, `GET /auth/sessions`. */
export interface DeviceSession {
  id: string;
  method: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string | null;
  ip: string | null;
  /** True for the device this client is logged in as. */
  current: boolean;
}

/** The events of an auth client and what their listeners receive. */
export interface AuthEventMap {
  /** A login succeeded, or `restore()` found one (`restored: true`). */
  login: { user: AuthUser; mode: LoginMode; restored: boolean };
  /**
   * Logged out: by this tab (`local`), everywhere (`everywhere`), by another tab (`other-tab`), or
   * because another tab logged in as someone else in the same mode (`other-user`), whose cookie
   * this tab now shares.
   */
  logout: { reason: 'local' | 'everywhere' | 'other-tab' | 'other-user' };
  /** A new access token arrived (token mode); `expiresIn` in seconds. */
  refresh: { expiresIn: number };
  /**
   * The server no longer knows this login (revoked device, password changed elsewhere, expired):
   * a refresh, or a cookie-authenticated call, was answered 401. The client is now logged out.
   */
  'session-ended': { code: string; status: number };
}

export interface AuthClientOptions {
  /** Where the coatcheck server is, e.g. `location.origin`. Only its origin is used. */
  baseUrl: string;
  /** The auth routes' base path on that server. Default `/auth`. */
  basePath?: string;
  /** The `fetch` to send requests with. Default: the page's own. */
  fetch?: typeof fetch;
  /**
   * Milliseconds a refresh may take before it is abandoned and sent once more at once; if that one
   * stalls too, the refresh fails as a `network_error` (the login stays; the next call tries
   * again). Default 8000: below the server's default grace window (10 s), so that the second
   * request, for a token the server rotated while its answer was late, gets the same successor.
   */
  refreshTimeout?: number;
}

export interface AuthClient {
  /** `session` or `token` while logged in, else `null`. */
  readonly mode: LoginMode | null;
  /** The logged-in user as last seen (login, `restore()` or `me()`), else `null`. */
  readonly user: AuthUser | null;
  /** Creates an account (it does not log in). */
  register(input: { email: string; password: string; name?: string }): Promise<AuthUser>;
  /** Logs in: `session` (default) gets an HttpOnly session cookie, `token` an access token kept in memory. */
  login(input: { email: string; password: string; mode?: LoginMode }): Promise<AuthUser>;
  /**
   * Finds the login that survives a page reload: the session cookie (`GET /auth/me`) or else the
   * refresh cookie (`POST /auth/refresh`). Not called on creation, so that the page decides when
   * (and shows that it is checking). Emits `login` with `restored: true` when it finds one;
   * resolves to `null` when nobody is logged in.
   */
  restore(): Promise<AuthUser | null>;
  /** Logs this browser out (on the server, then here and in every other tab). */
  logout(): Promise<void>;
  /** Ends every session and refresh family of the user, then logs out here and in other tabs. */
  logoutAll(): Promise<void>;
  me(): Promise<MeResult>;
  sessions(): Promise<DeviceSession[]>;
  /** Logs one device out at once; revoking this very device logs out here too. */
  revokeSession(id: string): Promise<void>;
  /** Every other device is logged out by the server; this one stays. */
  changePassword(input: { currentPassword: string; newPassword: string }): Promise<void>;
  /**
   * `fetch` that authenticates requests to the server's origin (bearer token or cookies) and, in
   * token mode, answers a 401 by refreshing once (one refresh for any number of concurrent calls)
   * and retrying the request once. Requests to other origins pass through untouched: the token is
   * never sent elsewhere.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * Token mode: renews the access token now, as the client does by itself at 80% of its life (the
   * server rotates the refresh cookie with it). Resolves `true` once the new token is in place,
   * `false` when there is no token login to renew or the server refused the refresh (the login has
   * then ended: `session-ended` was emitted). Throws `AuthClientError` when the refresh could not
   * be completed (`network_error`, 503); the login stays.
   */
  refresh(): Promise<boolean>;
  /** The in-memory access token (token mode), for display such as a token inspector. */
  getAccessToken(): string | null;
  /** Listens to an event; returns the function that stops listening. */
  on<E extends keyof AuthEventMap>(event: E, listener: (detail: AuthEventMap[E]) => void): () => void;
  /** Stops the renewal timer and the cross-tab channel. */
  close(): void;
}
