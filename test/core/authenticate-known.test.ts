import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
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
  const auth = createAuth({
    store: createMemoryStore(),
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
  return { auth, clock, user, session, claims, request: facts({ authorization: `Bearer ${token}` }) };
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

  it('refuses a malformed bearer header at once, and leaves cookies and anonymous requests to authenticate', async () => {
    const { auth } = await signedIn();
    expect(auth.authenticateKnown(facts({ authorization: 'Bearer a b' }))).toStrictEqual({
      ok: false,
      code: 'invalid_token',
      clearSessionCookie: false,
    });
    expect(auth.authenticateKnown(facts({ cookie: '__Host-coatcheck.sid=abc' }))).toBeUndefined();
    expect(auth.authenticateKnown(facts({}))).toBeUndefined();
    expect(auth.authenticateKnown(facts({ authorization: 'Basic dXNlcjpwYXNz' }))).toBeUndefined();
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
