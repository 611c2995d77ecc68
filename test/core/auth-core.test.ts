import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuth, type Auth } from '../../src/create-auth.js';
import { createManualClock } from '../../src/core/clock.js';
import { AuthError } from '../../src/core/errors.js';
import { createArgon2idHasher } from '../../src/core/password-hasher.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import type { Store } from '../../src/store/types.js';

const HOUR = 3600_000;
let store: Store;
let clock: ReturnType<typeof createManualClock>;
let auth: Auth;

beforeEach(() => {
  store = createMemoryStore();
  clock = createManualClock();
  auth = createAuth({
    store,
    clock,
    origin: 'https://app.example.com',
    // The core's behaviour does not depend on the cost; cheap parameters keep unit tests quick.
    passwordHasher: createArgon2idHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }),
    session: { idleTtl: 2 * 3600, absoluteTtl: 10 * 3600 },
    purgeInterval: 0,
  });
});
afterEach(async () => {
  await auth.close();
});

/** A new user's full record, hash included, as the store keeps it (createUser answers the profile). */
const user = async () => {
  const { id } = await auth.createUser({ email: 'ann@example.com', password: 'a long passphrase' });
  return (await store.users.findById(id))!;
};

describe('AccountManager', () => {
  it('normalises the email and refuses a second account for it', async () => {
    const created = await user();
    expect(created.email).toBe('ann@example.com');
    await expect(auth.createUser({ email: 'ANN@example.com', password: 'another passphrase' })).rejects.toMatchObject({
      code: 'email_taken',
    });
  });

  it('verifyCredentials returns the user for the right password and null otherwise', async () => {
    const created = await user();
    expect(
      (await auth.accounts.verifyCredentials({ email: 'Ann@Example.com', password: 'a long passphrase' }))?.id,
    ).toBe(created.id);
    expect(
      await auth.accounts.verifyCredentials({ email: 'ann@example.com', password: 'wrong passphrase' }),
    ).toBeNull();
    expect(
      await auth.accounts.verifyCredentials({ email: 'nobody@example.com', password: 'a long passphrase' }),
    ).toBeNull();
  });

  it('rehashes a hash made with weaker parameters after a successful login', async () => {
    const weak = createArgon2idHasher({ memoryCost: 512, timeCost: 1, parallelism: 1 });
    const created = await user();
    await store.users.updatePasswordHash(created.id, await weak.hash('a long passphrase'), clock.now());
    await auth.accounts.verifyCredentials({ email: 'ann@example.com', password: 'a long passphrase' });
    expect((await store.users.findById(created.id))?.passwordHash).toMatch(/m=1024,t=1,p=1/);
  });

  it('changePassword checks the current password and the policy', async () => {
    const created = await user();
    await expect(auth.accounts.changePassword(created, 'wrong passphrase', 'next passphrase')).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
    await expect(auth.accounts.changePassword(created, 'a long passphrase', 'password')).rejects.toBeInstanceOf(
      AuthError,
    );
    await auth.accounts.changePassword(created, 'a long passphrase', 'next passphrase');
    expect(
      await auth.accounts.verifyCredentials({ email: 'ann@example.com', password: 'next passphrase' }),
    ).not.toBeNull();
  });

  it('setRole refuses malformed roles at once', async () => {
    const created = await user();
    await expect(auth.setRole(created.id, 'Admin Role')).rejects.toBeInstanceOf(TypeError);
    expect(await auth.setRole(created.id, 'admin')).toBe(true);
    expect(await auth.setRole('usr_missing', 'admin')).toBe(false);
  });
});

// Validation reads the session and its user in one join where the store offers it, and in two
// reads where it does not (sessions and users in different backends): both must behave alike.
describe.each([
  ['one joined read', false],
  ['two reads', true],
])('SessionManager with an injected clock (%s)', (_, withoutJoin) => {
  beforeEach(() => {
    if (withoutJoin) delete store.findSessionWithUser;
    else expect(typeof store.findSessionWithUser).toBe('function');
  });

  it('creates a session whose secret is not stored, and validates it', async () => {
    const created = await user();
    const { session, secret } = await auth.sessions.create(created, { ip: '203.0.113.9', userAgent: 'UA' });
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(await store.sessions.findById(session.id))).not.toContain(secret);
    const valid = await auth.sessions.validate(secret!);
    expect(valid?.user.id).toBe(created.id);
    expect(valid?.session.ip).toBe('203.0.113.9');
  });

  it('createUser answers the profile, never the password hash', async () => {
    const created = await auth.createUser({ email: 'bob@example.com', password: 'a long passphrase' });
    const stored = (await store.users.findById(created.id))!;
    const { passwordHash, ...profile } = stored;
    expect(created).toStrictEqual(profile);
    expect(JSON.stringify(created)).not.toContain(passwordHash);
  });

  it('hands out the user without the password hash, on either read path', async () => {
    const created = await user();
    const { secret } = await auth.sessions.create(created, {});
    const valid = await auth.sessions.validate(secret!);
    const { passwordHash, ...profile } = created;
    expect(valid?.user).toStrictEqual(profile);
    expect(JSON.stringify(valid)).not.toContain(passwordHash);
  });

  it('ends a session after the idle timeout and extends it with activity', async () => {
    const created = await user();
    const { secret } = await auth.sessions.create(created, {});
    clock.advance(HOUR + 59 * 60_000);
    expect(await auth.sessions.validate(secret!)).not.toBeNull();
    clock.advance(HOUR + 59 * 60_000);
    expect(await auth.sessions.validate(secret!)).not.toBeNull();
    clock.advance(2 * HOUR);
    expect(await auth.sessions.validate(secret!)).toBeNull();
  });

  it('ends a session at the absolute timeout however active', async () => {
    const created = await user();
    const { secret } = await auth.sessions.create(created, {});
    for (let i = 0; i < 9; i++) {
      clock.advance(HOUR);
      expect(await auth.sessions.validate(secret!)).not.toBeNull();
    }
    clock.advance(HOUR);
    expect(await auth.sessions.validate(secret!)).toBeNull();
  });

  it('refuses malformed secrets without a store read', async () => {
    const created = await user();
    await auth.sessions.create(created, {});
    await store.close();
    // A closed memory store throws on any read; a malformed secret never gets that far.
    expect(await auth.sessions.validate('short')).toBeNull();
    expect(await auth.sessions.validate('x'.repeat(44))).toBeNull();
  });

  it("revoke only ends the owner's sessions; revokeAll keeps the excepted one", async () => {
    const ann = await user();
    const bob = await auth.createUser({ email: 'bob@example.com', password: 'bobs passphrase' });
    const a1 = await auth.sessions.create(ann, {});
    const a2 = await auth.sessions.create(ann, {});
    const b1 = await auth.sessions.create(bob, {});
    expect(await auth.sessions.revoke(ann.id, b1.session.id)).toBe(false);
    expect(await auth.sessions.validate(b1.secret!)).not.toBeNull();
    expect(await auth.sessions.revokeAll(ann.id, { exceptId: a1.session.id })).toEqual([a2.session.id]);
    expect(await auth.sessions.validate(a1.secret!)).not.toBeNull();
    expect(await auth.sessions.validate(a2.secret!)).toBeNull();
  });

  it('lists live sessions newest first and purges expired ones', async () => {
    const ann = await user();
    const old = await auth.sessions.create(ann, {});
    clock.advance(HOUR);
    const recent = await auth.sessions.create(ann, {});
    expect((await auth.sessions.listForUser(ann.id)).map((s) => s.id)).toEqual([recent.session.id, old.session.id]);
    clock.advance(HOUR + 1);
    expect((await auth.sessions.listForUser(ann.id)).map((s) => s.id)).toEqual([recent.session.id]);
    expect(await auth.purgeExpired()).toBe(1);
    expect(await store.sessions.findById(old.session.id)).toBeNull();
  });
});

describe('createAuth setup checks', () => {
  it('throws TypeError for a developer mistake, at setup', () => {
    expect(() => createAuth({ store, origin: 'not a url' })).toThrow(TypeError);
    expect(() => createAuth({ store, origin: 'http://app.example.com' })).toThrow(/plain http/);
    expect(() => createAuth({ store, origin: 'https://app.example.com', session: { idleTtl: -1 } })).toThrow(TypeError);
  });
});
