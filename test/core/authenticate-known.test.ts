import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { createAuth } from '../../src/create-auth.js';
import { requireAuth } from '../../src/express/index.js';
import type { RequestFacts } from '../../src/http/authenticate.js';
import type { RevocationEvent, RevocationFeed, RevocationFeedHandlers } from '../../src/revocation/types.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';

// `authenticateKnown` answers without waiting only where `authenticate` would give the same answer:
// a bearer token verified before. Everything else (first sight, sessions, strict checks that read
// the store, a revocation feed that is down) is left to `authenticate`.

const facts = (headers: Record<string, string>, method = 'GET'): RequestFacts => ({
  method,
  header: (name) => headers[name] ?? null,
});

/** An in-process feed: publishing reaches the list at once; `down()` makes it report a lost connection. */
function inProcessFeed() {
  let handlers: RevocationFeedHandlers | undefined;
  const stored: RevocationEvent[] = [];
  const feed: RevocationFeed = {
    publish(event) {
      stored.push(event);
      handlers?.onEvent(event);
      return Promise.resolve();
    },
    loadActive: (now) => Promise.resolve(stored.filter((event) => event.expiresAt > now)),
    subscribe(h) {
      handlers = h;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return { feed, down: () => handlers!.onDisconnected() };
}

async function signedIn(options: { feed?: RevocationFeed } = {}) {
  const clock = createManualClock(Date.UTC(2026, 0, 1));
  const store = createMemoryStore();
  const auth = createAuth({
    store,
    origin: 'http://localhost:3000',
    logger: silentLogger,
    purgeInterval: 0,
    clock,
    tokens: { secret: 'a test secret of at least thirty-two bytes' },
    ...(options.feed ? { revocation: { feed: options.feed } } : {}),
  });
  await auth.ready();
  const user = await auth.accounts.register({ email: 'known@example.com', password: 'a long passphrase' });
  const { session } = await auth.sessions.create(user, {});
  const { token, claims } = auth.tokens!.access.issue({ userId: user.id, sessionId: session.id, role: user.role });
  return { auth, store, clock, user, session, claims, request: facts({ authorization: `Bearer ${token}` }) };
}

describe('authenticateKnown', () => {
  it('leaves a token to authenticate until it was verified twice, then gives the same identity at once', async () => {
    const { auth, request, user, session, claims } = await signedIn();
    expect(auth.authenticateKnown(request)).toBeUndefined();
    const first = await auth.authenticate(request);
    expect(auth.authenticateKnown(request)).toBeUndefined();
    const second = await auth.authenticate(request);
    const known = auth.authenticateKnown(request);
    expect(known).toStrictEqual(second);
    expect(known).toStrictEqual(first);
    expect(known).toStrictEqual({
      ok: true,
      identity: {
        userId: user.id,
        role: 'user',
        method: 'bearer',
        sessionId: session.id,
        expiresAt: claims.exp * 1000,
      },
    });
  });

  it('refuses a known token once it has expired, as authenticate does', async () => {
    const { auth, clock, request, claims } = await signedIn();
    await auth.authenticate(request);
    await auth.authenticate(request);
    clock.set(claims.exp * 1000 + 30_000);
    const refused = { ok: false, code: 'invalid_token', clearSessionCookie: false };
    expect(auth.authenticateKnown(request)).toStrictEqual(refused);
    expect(await auth.authenticate(request)).toStrictEqual(refused);
  });

  it('refuses a malformed bearer header and a request with no credential at once', async () => {
    const { auth } = await signedIn();
    expect(auth.authenticateKnown(facts({ authorization: 'Bearer a b' }))).toStrictEqual({
      ok: false,
      code: 'invalid_token',
      clearSessionCookie: false,
    });
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }] as Record<string, string>[]) {
      expect(auth.authenticateKnown(facts(headers))).toStrictEqual(await auth.authenticate(facts(headers)));
      expect(auth.authenticateKnown(facts(headers))).toMatchObject({ ok: false, code: 'unauthenticated' });
    }
  });

  it('leaves strict checks without a feed to authenticate: only the store knows the session', async () => {
    const { auth, request, user, session } = await signedIn();
    await auth.authenticate(request);
    await auth.authenticate(request);
    expect(auth.authenticateKnown(request, { strict: true })).toBeUndefined();
    await auth.sessions.revoke(user.id, session.id);
    expect(auth.authenticateKnown(request, { strict: true })).toBeUndefined();
    expect(await auth.authenticate(request, { strict: true })).toMatchObject({ ok: false, code: 'invalid_token' });
  });

  it('decides strict checks at once from a live revocation feed, and waits while the feed is down', async () => {
    const { feed, down } = inProcessFeed();
    const { auth, request, user, session } = await signedIn({ feed });
    await auth.authenticate(request, { strict: true });
    await auth.authenticate(request, { strict: true });
    expect(auth.authenticateKnown(request, { strict: true })).toMatchObject({ ok: true });
    await auth.sessions.revoke(user.id, session.id);
    expect(auth.authenticateKnown(request, { strict: true })).toMatchObject({ ok: false, code: 'invalid_token' });
    down();
    expect(auth.authenticateKnown(request, { strict: true })).toBeUndefined();
    await expect(auth.authenticate(request, { strict: true })).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    await auth.close();
  });
});

describe('requireAuth with a known token', () => {
  it('lets the request on before returning, with no promise for Express to wait on', async () => {
    const { auth, request } = await signedIn();
    await auth.authenticate(request);
    await auth.authenticate(request);
    const guard = requireAuth(auth);
    const req = { method: 'GET', headers: { authorization: request.header('authorization')! } };
    let passed = false;
    const returned = guard(req as never, {} as never, () => {
      passed = true;
    });
    expect(returned).toBeUndefined();
    expect(passed).toBe(true);
    expect((req as { auth?: unknown }).auth).toMatchObject({ method: 'bearer' });
  });
});

describe('authenticateKnown with a session cookie', () => {
  async function withSession(options: { syncReads?: boolean } = {}) {
    const world = await signedIn();
    if (options.syncReads === false) delete world.store.findSessionWithUserNow;
    const { secret } = await world.auth.sessions.create(world.user, {});
    return { ...world, cookie: facts({ cookie: `__Host-coatcheck.sid=${secret}` }) };
  }

  it('gives the same outcome as authenticate, at once, from a store that reads without waiting', async () => {
    const { auth, cookie, user } = await withSession();
    const known = auth.authenticateKnown(cookie);
    expect(known).toMatchObject({ ok: true, identity: { method: 'session', userId: user.id } });
    expect(known).toStrictEqual(await auth.authenticate(cookie));
  });

  it('refuses an unknown secret at once and asks for the cookie to be cleared, as authenticate does', async () => {
    const { auth } = await withSession();
    const unknown = facts({ cookie: `__Host-coatcheck.sid=${'A'.repeat(43)}` });
    expect(auth.authenticateKnown(unknown)).toStrictEqual({
      ok: false,
      code: 'unauthenticated',
      clearSessionCookie: true,
    });
    expect(await auth.authenticate(unknown)).toStrictEqual(auth.authenticateKnown(unknown));
  });

  it('refuses a cross-site unsafe request at once, before any read', async () => {
    const { auth, cookie } = await withSession();
    const post = facts({ cookie: cookie.header('cookie')!, origin: 'https://evil.example' }, 'POST');
    expect(auth.authenticateKnown(post)).toStrictEqual({ ok: false, code: 'csrf_rejected', clearSessionCookie: false });
  });

  it('calls header as a method, so an adapter may pass a class instance (the CSRF rule included)', async () => {
    const { auth, cookie } = await withSession();
    class Facts implements RequestFacts {
      constructor(
        readonly method: string,
        private readonly headers: Record<string, string>,
      ) {}
      header(name: string): string | null {
        return this.headers[name] ?? null;
      }
    }
    const crossSite = new Facts('POST', { cookie: cookie.header('cookie')!, origin: 'https://evil.example' });
    expect(await auth.authenticate(crossSite)).toMatchObject({ ok: false, code: 'csrf_rejected' });
    const sameSite = new Facts('POST', { cookie: cookie.header('cookie')!, origin: auth.options.origin });
    expect(await auth.authenticate(sameSite)).toMatchObject({ ok: true });
    expect(auth.authenticateKnown(sameSite)).toMatchObject({ ok: true });
  });

  it('leaves a due touch and an expired session to authenticate, which writes', async () => {
    const { auth, clock, cookie, store } = await withSession();
    clock.advance(auth.options.touchIntervalMs);
    expect(auth.authenticateKnown(cookie)).toBeUndefined();
    const touched = await auth.authenticate(cookie);
    expect(touched).toMatchObject({ ok: true });
    expect(auth.authenticateKnown(cookie)).toStrictEqual(touched);

    clock.advance(auth.options.absoluteTtlMs);
    expect(auth.authenticateKnown(cookie)).toBeUndefined();
    expect(await auth.authenticate(cookie)).toMatchObject({ ok: false, code: 'unauthenticated' });
    expect(store.findSessionWithUserNow!(touched.ok ? touched.identity.session!.secretHash! : '')).toBeNull();
  });

  it('leaves every cookie to authenticate when the store cannot read without waiting', async () => {
    const { auth, cookie } = await withSession({ syncReads: false });
    expect(auth.authenticateKnown(cookie)).toBeUndefined();
    // Even the ones refused before any read: authenticate would parse them again.
    expect(auth.authenticateKnown(facts({}))).toBeUndefined();
    const crossSite = facts({ cookie: cookie.header('cookie')!, origin: 'https://evil.example' }, 'POST');
    expect(auth.authenticateKnown(crossSite)).toBeUndefined();
    expect(await auth.authenticate(crossSite)).toMatchObject({ ok: false, code: 'csrf_rejected' });
    expect(await auth.authenticate(cookie)).toMatchObject({ ok: true });
  });

  it('throws StoreUnavailableError from a closed store, as authenticate rejects with it', async () => {
    const { auth, cookie, store } = await withSession();
    await store.close();
    expect(() => auth.authenticateKnown(cookie)).toThrow(StoreUnavailableError);
    await expect(auth.authenticate(cookie)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
