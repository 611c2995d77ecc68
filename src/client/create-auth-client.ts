import { DeadlinePassed, refreshTimeoutOf, withinDeadlineTwice } from './deadline.js';
import { decodeJwtPayload } from './decode-jwt.js';
import { AuthClientError, readProblem } from './errors.js';
import { createEvents } from './events.js';
import type { AuthClient, AuthClientOptions, AuthUser, DeviceSession, LoginMode, MeResult } from './types.js';

type TabMessage =
  | { type: 'logout' }
  | { type: 'ended'; code: string; mode: LoginMode }
  | { type: 'login'; userId: string; mode: LoginMode };

/** The fraction of an access token's life after which it is renewed ahead of expiry. */
const RENEW_AT = 0.8;

/**
 * A dependency-free browser client for coatcheck's auth routes.
 *
 * @example
 * const auth = createAuthClient({ baseUrl: location.origin });
 * auth.on('session-ended', () => showLogin());
 * if (!(await auth.restore())) await auth.login({ email, password, mode: 'token' });
 * const notes = await auth.fetch('/api/notes').then((r) => r.json());
 */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  const origin = new URL(options.baseUrl).origin;
  const base = `${origin}${(options.basePath ?? '/auth').replace(/\/+$/, '')}`;
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const key = `coatcheck:${base}`;
  const refreshTimeout = refreshTimeoutOf(options.refreshTimeout);
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(key) : null;
  const { emit, on } = createEvents();

  // The whole login state lives in this closure: never in storage or a script-readable cookie.
  let mode: LoginMode | null = null;
  let user: AuthUser | null = null;
  let accessToken: string | null = null;
  let sessionId: string | null = null;
  // Bumped by every login and logout, so a refresh that was under way cannot revive an old login.
  let epoch = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: Promise<true | AuthClientError> | null = null;

  function reset(): void {
    epoch += 1;
    mode = user = accessToken = sessionId = null;
    clearTimeout(timer);
  }

  function endSession(code: string, status: number): void {
    if (mode === null) return;
    const ended = mode;
    reset();
    channel?.postMessage({ type: 'ended', code, mode: ended } satisfies TabMessage);
    emit('session-ended', { code, status });
  }

  function finishLogout(reason: 'local' | 'everywhere'): void {
    reset();
    channel?.postMessage({ type: 'logout' } satisfies TabMessage);
    emit('logout', { reason });
  }

  function setToken(token: string, expiresIn: number): void {
    mode = 'token';
    accessToken = token;
    try {
      const sid = decodeJwtPayload(token).sid;
      if (typeof sid === 'string') sessionId = sid;
    } catch {
      // Not a JWT we can read: only revoking this very device goes unnoticed until the next 401.
    }
    clearTimeout(timer);
    timer = setTimeout(() => void renew().catch(() => undefined), Math.max(1, expiresIn) * 1000 * RENEW_AT);
  }

  async function request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await send(url, { credentials: 'include', ...init });
    } catch {
      throw new AuthClientError('network_error', 0, 'The server could not be reached.');
    }
  }

  /**
   * One refresh: `true`, the 401's error (the login is gone), or a throw for anything transient.
   * A request that stalls is abandoned after `refreshTimeout` and sent once more (it holds the
   * cross-tab lock: every tab would wait behind it for as long as the connection hangs).
   */
  const requestToken = (): Promise<true | AuthClientError> =>
    withinDeadlineTwice(refreshTimeout, async (signal) => {
      const started = epoch;
      const response = await request(`${base}/refresh`, { method: 'POST', signal });
      if (response.status === 401) return readProblem(response);
      if (!response.ok) throw await readProblem(response);
      const body = (await response.json().catch(() => {
        throw new AuthClientError('network_error', 0, 'The refresh did not complete.');
      })) as { accessToken: string; expiresIn: number };
      if (started === epoch) {
        setToken(body.accessToken, body.expiresIn);
        emit('refresh', { expiresIn: body.expiresIn });
      }
      return true as const;
    }).catch((error: unknown) => {
      throw error instanceof DeadlinePassed ? new AuthClientError('network_error', 0, 'The refresh timed out.') : error;
    });

  /**
   * Single flight within the tab; across tabs, a Web Lock lets one tab refresh at a time, so the
   * next presents the already-rotated cookie. Without Web Locks, tabs may refresh together: the
   * server's grace window then hands the duplicate the same successor, so nobody is logged out.
   */
  function refresh(): Promise<true | AuthClientError> {
    const locks = typeof navigator === 'object' ? (navigator.locks as LockManager | undefined) : undefined;
    // Promise.resolve flattens the lock's Promise<Promise<…>> type (the value is already flat).
    inflight ??= Promise.resolve(locks ? locks.request(`${key}:refresh`, requestToken) : requestToken()).finally(() => {
      inflight = null;
    });
    return inflight;
  }

  async function renew(): Promise<boolean> {
    const started = epoch;
    const result = await refresh();
    if (result === true) return true;
    if (started === epoch) endSession(result.code, result.status);
    return false;
  }

  function prepare(request: Request): Request {
    const headers = new Headers(request.headers);
    if (mode === 'token' && accessToken) headers.set('Authorization', `Bearer ${accessToken}`);
    return new Request(request, { headers, credentials: mode === 'session' ? 'include' : request.credentials });
  }

  async function authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const original = new Request(input, init);
    if (mode === null || new URL(original.url).origin !== origin) return send(original);
    const sentMode = mode;
    const sentToken = accessToken;
    const retry = sentMode === 'token' ? original.clone() : null;
    const response = await send(prepare(original));
    if (response.status !== 401) return response;
    const code = await response
      .clone()
      .json()
      .then(
        (body: unknown) => (typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : ''),
        () => '',
      );
    // A wrong current password is a 401 too, but it says nothing about the login.
    if (code === 'invalid_credentials' || mode !== sentMode) return response;
    if (!retry) {
      endSession(code || 'unauthenticated', 401);
      return response;
    }
    // Renew only if no concurrent call has already done so since this request left.
    if (accessToken === sentToken) {
      try {
        if (!(await renew())) return response;
      } catch {
        return response;
      }
    }
    return accessToken ? send(prepare(retry)) : response;
  }

  async function call<T>(path: string, init: RequestInit = {}, json?: unknown): Promise<T> {
    if (json !== undefined) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(json);
    }
    let response: Response;
    try {
      response = await authFetch(`${base}${path}`, { credentials: 'include', ...init });
    } catch {
      throw new AuthClientError('network_error', 0, 'The server could not be reached.');
    }
    if (!response.ok) throw await readProblem(response);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  async function logout(): Promise<void> {
    const headers: Record<string, string> = accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
    try {
      const response = await request(`${base}/logout`, { method: 'POST', headers });
      if (!response.ok) throw await readProblem(response);
    } finally {
      finishLogout('local');
    }
  }

  channel?.addEventListener('message', (event: MessageEvent<TabMessage | null>) => {
    const message = event.data;
    if (mode === null || !message) return;
    // Another tab logged in as someone else in this tab's mode: the cookie that mode uses (the
    // session cookie, or the refresh cookie) is theirs now, so this tab's next cookie call or
    // refresh would act as them while showing its own user. A login in the other mode leaves this
    // tab's cookie alone; a tab still restoring (no user yet) has nobody to compare.
    if (message.type === 'login') {
      if (message.mode !== mode || user === null || message.userId === user.id) return;
      reset();
      emit('logout', { reason: 'other-user' });
      return;
    }
    if (message.type !== 'logout' && message.type !== 'ended') return;
    // A login that ended is one device: the session cookie, or the refresh cookie's family. A tab
    // in the other mode holds the other cookie, which may well be alive. (A logout, by contrast,
    // sends both cookies and the server ends both.)
    if (message.type === 'ended' && message.mode !== mode) return;
    reset();
    if (message.type === 'ended') emit('session-ended', { code: String(message.code), status: 401 });
    else emit('logout', { reason: 'other-tab' });
  });

  return {
    get mode() {
      return mode;
    },
    get user() {
      return user;
    },
    async register({ email, password, name }) {
      const body = { email, password, ...(name ? { name } : {}) };
      return (await call<{ user: AuthUser }>('/register', { method: 'POST' }, body)).user;
    },
    async login({ email, password, mode: wanted = 'session' }) {
      const body = await call<{ user: AuthUser; accessToken?: string; expiresIn?: number; session?: { id: string } }>(
        '/login',
        { method: 'POST' },
        { email, password, mode: wanted },
      );
      reset();
      mode = wanted;
      user = body.user;
      if (body.accessToken) setToken(body.accessToken, body.expiresIn ?? 0);
      else sessionId = body.session?.id ?? null;
      channel?.postMessage({ type: 'login', userId: body.user.id, mode: wanted } satisfies TabMessage);
      emit('login', { user: body.user, mode: wanted, restored: false });
      return body.user;
    },
    async restore() {
      // A login without a user is a restore whose refresh worked and whose `/me` then failed: ask
      // again, rather than answer "nobody" while the login is alive.
      if (mode !== null && user !== null) return user;
      let me: MeResult;
      if (mode !== null) {
        me = await call<MeResult>('/me');
      } else {
        const started = epoch;
        // The session cookie first: a plain GET that rotates nothing.
        const response = await request(`${base}/me`, {});
        if (started !== epoch) return user;
        if (response.ok) {
          me = (await response.json()) as MeResult;
          mode = 'session';
        } else {
          // Only a 401 means "no session cookie": a 503 (store down) says nothing about who is
          // logged in, and must not be reported as "nobody" while the cookie is alive.
          if (response.status !== 401) throw await readProblem(response);
          if ((await refresh()) !== true) return null;
          me = await call<MeResult>('/me');
        }
      }
      user = me.user;
      sessionId = me.auth.sessionId;
      emit('login', { user: me.user, mode: mode ?? 'token', restored: true });
      return me.user;
    },
    logout,
    async logoutAll() {
      await call('/logout-all', { method: 'POST' });
      finishLogout('everywhere');
    },
    async me() {
      const me = await call<MeResult>('/me');
      user = me.user;
      return me;
    },
    async sessions() {
      return (await call<{ sessions: DeviceSession[] }>('/sessions')).sessions;
    },
    async revokeSession(id) {
      await call(`/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
      // This very device: the server ended it; logging out also clears its now-dead cookies.
      if (id === sessionId) await logout();
    },
    async changePassword(input) {
      await call('/password', { method: 'POST' }, input);
    },
    fetch: authFetch,
    // In session mode a refresh would find no refresh cookie, and its 401 would end the session.
    refresh: async () => mode === 'token' && renew(),
    getAccessToken: () => accessToken,
    on,
    close() {
      clearTimeout(timer);
      channel?.close();
    },
  };
}
