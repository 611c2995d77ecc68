import { describe, expect, it } from 'vitest';
import { createAuth } from '../../src/create-auth.js';
import { silentLogger } from '../../src/core/logger.js';
import type { AuthOutcome, RequestFacts } from '../../src/http/authenticate.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';

// What a request carries of its user (`req.auth.user`) is the profile, never the password hash:
// an app that serializes what it was handed must not be able to leak it, whichever way the request
// authenticated.

const facts = (headers: Record<string, string>): RequestFacts => ({
  method: 'GET',
  header: (name) => headers[name] ?? null,
});

async function signedIn(options: { join: boolean | 'whole record' }) {
  const store = createMemoryStore();
  if (!options.join) delete store.findSessionWithUser;
  if (options.join === 'whole record') {
    // A store written against the contract before the join left the hash out: the type allows it.
    store.findSessionWithUser = async (secretHash) => {
      const session = await store.sessions.findBySecretHash(secretHash);
      const user = session && (await store.users.findById(session.userId));
      return session && user ? { session, user } : null;
    };
  }
  const auth = createAuth({
    store,
    origin: 'http://localhost:3000',
    logger: silentLogger,
    purgeInterval: 0,
    tokens: { secret: 'a test secret of at least thirty-two bytes' },
  });
  await auth.ready();
  const user = await auth.accounts.register({ email: 'profile@example.com', password: 'a long passphrase' });
  const { session, secret } = await auth.sessions.create(user, {});
  const token = auth.tokens!.access.issue({ userId: user.id, sessionId: session.id, role: user.role }).token;
  return { auth, user, cookie: `__Host-coatcheck.sid=${secret}`, bearer: `Bearer ${token}` };
}

function expectProfileOnly(outcome: AuthOutcome, user: { passwordHash: string; id: string }): void {
  if (!outcome.ok) throw new Error(`refused: ${outcome.code}`);
  const { passwordHash, ...profile } = user;
  expect(outcome.identity.user).toStrictEqual(profile);
  expect(JSON.stringify(outcome.identity)).not.toContain(passwordHash);
}

describe.each([
  ['a store that joins', true],
  ['a store read in two steps', false],
  ['a store whose join returns the whole record', 'whole record' as const],
])('the identity of a request, with %s', (_, join) => {
  it('carries no password hash for a session cookie', async () => {
    const { auth, user, cookie } = await signedIn({ join });
    expectProfileOnly(await auth.authenticate(facts({ cookie })), user);
  });

  it('carries no password hash for a strict bearer check, which reads the user', async () => {
    const { auth, user, bearer } = await signedIn({ join });
    expectProfileOnly(await auth.authenticate(facts({ authorization: bearer }), { strict: true }), user);
  });
});
