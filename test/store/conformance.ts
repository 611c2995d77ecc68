import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { SessionRecord, SessionWithUser, Store, UserProfile, UserRecord } from '../../src/store/types.js';
import { expectCallerBug, makeSession, makeUser, MINUTE, T0 } from './fixtures.js';

export interface StoreFixture {
  store: Store;
  /** Closes the current store and opens the same data again, to check what survives a restart. */
  reopen?: () => Promise<Store>;
  /** Closes whichever store is current and removes its data. */
  cleanup: () => Promise<void>;
}

const byId = (ids: string[]): string[] => [...ids].sort();

function profileOf(user: UserRecord): UserProfile {
  const { passwordHash: _hash, ...profile } = user;
  return profile;
}

/** The joined read; where the store also reads without waiting, both answers must be the same. */
async function findSessionWithUser(store: Store, secretHash: string): Promise<SessionWithUser | null> {
  if (!store.findSessionWithUser) throw new Error('this store offers no findSessionWithUser');
  if (!store.findSessionWithUserNow) return store.findSessionWithUser(secretHash);
  const now = store.findSessionWithUserNow(secretHash);
  const later = await store.findSessionWithUser(secretHash);
  expect(now).toStrictEqual(later);
  return now;
}

/**
 * The behaviour every store must have, registered as one `describe` block. Each test gets a fresh,
 * empty store from `open`.
 */
export function defineStoreConformance(
  name: string,
  open: () => Promise<StoreFixture>,
  options: {
    persistent: boolean;
    /** Sessions and users share one database, so the store must offer `findSessionWithUser`. */
    joinsSessionsWithUsers: boolean;
    /** The store reads without I/O waits, so it offers `findSessionWithUserNow` too. */
    readsWithoutWaiting: boolean;
  },
): void {
  describe(`store conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    async function createUser(overrides: Partial<UserRecord> = {}): Promise<UserRecord> {
      const created = await store.users.create(makeUser(overrides));
      if (created === null) throw new Error('test setup: user was not created');
      return created;
    }

    async function createSession(userId: string, overrides: Partial<SessionRecord> = {}): Promise<SessionRecord> {
      const session = makeSession(userId, overrides);
      await store.sessions.create(session);
      return session;
    }

    describe('users', () => {
      it('creates a user and finds it by id and by email', async () => {
        const user = makeUser({ name: 'Ann', role: 'admin' });
        expect(await store.users.create(user)).toEqual(user);
        expect(await store.users.findById(user.id)).toEqual(user);
        expect(await store.users.findByEmail(user.email)).toEqual(user);
      });

      it('returns null for an unknown id or email', async () => {
        await createUser();
        expect(await store.users.findById('usr_unknown')).toBeNull();
        expect(await store.users.findByEmail('nobody@example.com')).toBeNull();
      });

      it('returns null for a taken email and leaves the first user intact', async () => {
        const first = await createUser({ email: 'ann@example.com', name: 'Ann' });
        const second = makeUser({ email: 'ann@example.com', name: 'Impostor', passwordHash: '$argon2id$other' });
        expect(await store.users.create(second)).toBeNull();
        expect(await store.users.findByEmail('ann@example.com')).toEqual(first);
        expect(await store.users.findById(second.id)).toBeNull();
        expect(await store.users.list()).toEqual([first]);
      });

      it('rejects a second user with the same id', async () => {
        const first = await createUser();
        await expectCallerBug(store.users.create(makeUser({ id: first.id, email: 'other@example.com' })));
        expect(await store.users.findById(first.id)).toEqual(first);
        expect(await store.users.findByEmail('other@example.com')).toBeNull();
      });

      it('gives exactly one of 50 concurrent creates with the same email', async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, () => store.users.create(makeUser({ email: 'race@example.com' }))),
        );
        const winners = results.filter((result) => result !== null);
        expect(winners).toHaveLength(1);
        expect(await store.users.findByEmail('race@example.com')).toEqual(winners[0]);
        expect(await store.users.list()).toHaveLength(1);
      });

      it('updates the password hash, or returns false for an unknown id', async () => {
        const user = await createUser();
        expect(await store.users.updatePasswordHash(user.id, '$argon2id$new', T0 + MINUTE)).toBe(true);
        expect(await store.users.findById(user.id)).toEqual({
          ...user,
          passwordHash: '$argon2id$new',
          updatedAt: T0 + MINUTE,
        });
        expect(await store.users.updatePasswordHash('usr_unknown', '$argon2id$x', T0)).toBe(false);
        expect(await store.users.findById('usr_unknown')).toBeNull();
      });

      it('replaces the password hash only while it is still the one named by `replacing`', async () => {
        const user = await createUser();
        const changed = { ...user, passwordHash: '$argon2id$changed', updatedAt: T0 + MINUTE };
        expect(await store.users.updatePasswordHash(user.id, '$argon2id$changed', T0 + MINUTE)).toBe(true);
        // A rehash of the hash read before that change: refused, the change stands.
        const stale = { replacing: user.passwordHash };
        expect(await store.users.updatePasswordHash(user.id, '$argon2id$rehash', T0 + 2 * MINUTE, stale)).toBe(false);
        expect(await store.users.findById(user.id)).toEqual(changed);
        const current = { replacing: '$argon2id$changed' };
        expect(await store.users.updatePasswordHash(user.id, '$argon2id$rehash', T0 + 2 * MINUTE, current)).toBe(true);
        expect((await store.users.findById(user.id))?.passwordHash).toBe('$argon2id$rehash');
        expect(await store.users.updatePasswordHash('usr_unknown', '$argon2id$x', T0, current)).toBe(false);
      });

      it('updates the role, or returns false for an unknown id', async () => {
        const user = await createUser();
        const other = await createUser();
        expect(await store.users.updateRole(user.id, 'admin', T0 + MINUTE)).toBe(true);
        expect(await store.users.findById(user.id)).toEqual({ ...user, role: 'admin', updatedAt: T0 + MINUTE });
        expect(await store.users.findById(other.id)).toEqual(other);
        expect(await store.users.updateRole('usr_unknown', 'admin', T0)).toBe(false);
      });

      it('lists users by createdAt, then id, with limit and offset', async () => {
        const c = await createUser({ id: 'usr_c', createdAt: T0 + 2 });
        const b = await createUser({ id: 'usr_b', createdAt: T0 + 1 });
        const d = await createUser({ id: 'usr_d', createdAt: T0 + 1 });
        const a = await createUser({ id: 'usr_a', createdAt: T0 + 3 });
        expect(await store.users.list()).toEqual([b, d, c, a]);
        expect(await store.users.list({})).toEqual([b, d, c, a]);
        expect(await store.users.list({ limit: 2 })).toEqual([b, d]);
        expect(await store.users.list({ limit: 2, offset: 1 })).toEqual([d, c]);
        expect(await store.users.list({ offset: 3 })).toEqual([a]);
        expect(await store.users.list({ offset: 4 })).toEqual([]);
        expect(await store.users.list({ limit: 0 })).toEqual([]);
      });

      it('rejects a negative or fractional page with TypeError', async () => {
        await expect(store.users.list({ limit: -1 })).rejects.toBeInstanceOf(TypeError);
        await expect(store.users.list({ offset: -1 })).rejects.toBeInstanceOf(TypeError);
        await expect(store.users.list({ limit: 1.5 })).rejects.toBeInstanceOf(TypeError);
      });
    });

    describe('sessions', () => {
      it('creates a session and finds it by id and by secret hash', async () => {
        const user = await createUser();
        const session = await createSession(user.id);
        expect(await store.sessions.findById(session.id)).toEqual(session);
        expect(await store.sessions.findBySecretHash(`hash-of-${session.id}`)).toEqual(session);
      });

      it('stores token sessions without a secret hash, several per user', async () => {
        const user = await createUser();
        const first = await createSession(user.id, { method: 'token', secretHash: null, userAgent: null, ip: null });
        const second = await createSession(user.id, { method: 'token', secretHash: null });
        expect(await store.sessions.findById(first.id)).toEqual(first);
        expect(await store.sessions.findById(second.id)).toEqual(second);
      });

      it('returns null for an unknown id or secret hash', async () => {
        const user = await createUser();
        await createSession(user.id);
        expect(await store.sessions.findById('ses_unknown')).toBeNull();
        expect(await store.sessions.findBySecretHash('unknown-hash')).toBeNull();
      });

      it('rejects a duplicate id or secret hash and keeps the first session', async () => {
        const user = await createUser();
        const first = await createSession(user.id);
        await expectCallerBug(store.sessions.create(makeSession(user.id, { id: first.id, secretHash: 'fresh' })));
        await expectCallerBug(store.sessions.create(makeSession(user.id, { secretHash: first.secretHash })));
        expect(await store.sessions.listByUser(user.id)).toEqual([first]);
        expect(await store.sessions.findBySecretHash('fresh')).toBeNull();
      });

      it('touches a session, or returns false for an unknown id', async () => {
        const user = await createUser();
        const session = await createSession(user.id);
        const update = { lastSeenAt: T0 + 5 * MINUTE, idleExpiresAt: T0 + 35 * MINUTE };
        expect(await store.sessions.touch(session.id, update)).toBe(true);
        expect(await store.sessions.findById(session.id)).toEqual({ ...session, ...update });
        expect(await store.sessions.touch('ses_unknown', update)).toBe(false);
        expect(await store.sessions.findById('ses_unknown')).toBeNull();
      });

      it("lists only the user's own sessions, expired ones included", async () => {
        const ann = await createUser();
        const bob = await createUser();
        const a1 = await createSession(ann.id);
        const a2 = await createSession(ann.id, { idleExpiresAt: T0 - 1, createdAt: T0 + 1 });
        await createSession(bob.id);
        const listed = await store.sessions.listByUser(ann.id);
        expect(listed).toHaveLength(2);
        expect(listed).toEqual(expect.arrayContaining([a1, a2]));
        expect(await store.sessions.listByUser('usr_unknown')).toEqual([]);
      });

      it('deletes one session: true, then false', async () => {
        const user = await createUser();
        const session = await createSession(user.id);
        const other = await createSession(user.id);
        expect(await store.sessions.delete(session.id)).toBe(true);
        expect(await store.sessions.delete(session.id)).toBe(false);
        expect(await store.sessions.findById(session.id)).toBeNull();
        expect(await store.sessions.findBySecretHash(`hash-of-${session.id}`)).toBeNull();
        expect(await store.sessions.findById(other.id)).toEqual(other);
      });

      it("deletes all of a user's sessions and returns exactly their ids", async () => {
        const ann = await createUser();
        const bob = await createUser();
        const a1 = await createSession(ann.id);
        const a2 = await createSession(ann.id, { method: 'token', secretHash: null });
        const a3 = await createSession(ann.id, { absoluteExpiresAt: T0 - 1 });
        const b1 = await createSession(bob.id);
        expect(byId(await store.sessions.deleteByUser(ann.id))).toEqual(byId([a1.id, a2.id, a3.id]));
        expect(await store.sessions.listByUser(ann.id)).toEqual([]);
        expect(await store.sessions.findBySecretHash(`hash-of-${a1.id}`)).toBeNull();
        expect(await store.sessions.listByUser(bob.id)).toEqual([b1]);
        expect(await store.sessions.deleteByUser(ann.id)).toEqual([]);
        expect(await store.sessions.deleteByUser('usr_unknown')).toEqual([]);
      });

      it('spares exceptId when deleting by user', async () => {
        const ann = await createUser();
        const bob = await createUser();
        const keep = await createSession(ann.id);
        const a2 = await createSession(ann.id);
        const a3 = await createSession(ann.id, { method: 'token', secretHash: null });
        const b1 = await createSession(bob.id);
        expect(byId(await store.sessions.deleteByUser(ann.id, { exceptId: keep.id }))).toEqual(byId([a2.id, a3.id]));
        expect(await store.sessions.listByUser(ann.id)).toEqual([keep]);
        expect(await store.sessions.listByUser(bob.id)).toEqual([b1]);
      });

      it("does not spare another user's session named as exceptId, nor delete it", async () => {
        const ann = await createUser();
        const bob = await createUser();
        const a1 = await createSession(ann.id);
        const b1 = await createSession(bob.id);
        expect(await store.sessions.deleteByUser(ann.id, { exceptId: b1.id })).toEqual([a1.id]);
        expect(await store.sessions.findById(b1.id)).toEqual(b1);
      });

      it('deletes sessions whose idle or absolute deadline is at or before now', async () => {
        const user = await createUser();
        const now = T0 + 60 * MINUTE;
        const idlePassed = await createSession(user.id, { idleExpiresAt: now - 1 });
        const idleAtNow = await createSession(user.id, { idleExpiresAt: now });
        const absolutePassed = await createSession(user.id, { absoluteExpiresAt: now - 1, idleExpiresAt: now + 1 });
        const alive = await createSession(user.id, { idleExpiresAt: now + 1, absoluteExpiresAt: now + MINUTE });
        expect(await store.sessions.deleteExpired(now)).toBe(3);
        for (const gone of [idlePassed, idleAtNow, absolutePassed]) {
          expect(await store.sessions.findById(gone.id)).toBeNull();
        }
        expect(await store.sessions.listByUser(user.id)).toEqual([alive]);
        expect(await store.sessions.deleteExpired(now)).toBe(0);
      });
    });

    it('deletes a backlog of expired sessions larger than one batch, and counts all of it', async () => {
      const user = await createUser();
      const now = T0 + 60 * MINUTE;
      // More than any store deletes per statement or round (Postgres 5,000, SQLite 1,000, Redis 200).
      const backlog = 5_050;
      for (let start = 0; start < backlog; start += 250) {
        await Promise.all(
          Array.from({ length: Math.min(250, backlog - start) }, () => createSession(user.id, { idleExpiresAt: now })),
        );
      }
      const alive = await createSession(user.id, { idleExpiresAt: now + 1, absoluteExpiresAt: now + MINUTE });
      expect(await store.sessions.deleteExpired(now)).toBe(backlog);
      expect(await store.sessions.listByUser(user.id)).toEqual([alive]);
    }, 60_000);

    describe('session with its user in one read', () => {
      const join = (secretHash: string) => findSessionWithUser(store, secretHash);

      it(`is ${options.joinsSessionsWithUsers ? 'offered' : 'left out, as sessions and users live apart'}`, () => {
        expect(typeof store.findSessionWithUser).toBe(options.joinsSessionsWithUsers ? 'function' : 'undefined');
      });

      it(`is ${options.readsWithoutWaiting ? 'offered' : 'left out'} as a read without waiting`, () => {
        expect(typeof store.findSessionWithUserNow).toBe(options.readsWithoutWaiting ? 'function' : 'undefined');
      });

      if (options.joinsSessionsWithUsers) {
        it('finds the session and the user it belongs to', async () => {
          const ann = await createUser({ role: 'admin', name: 'Ann' });
          const bob = await createUser();
          const session = await createSession(ann.id);
          await createSession(bob.id);
          await createSession(ann.id, { method: 'token', secretHash: null });
          const found = await join(`hash-of-${session.id}`);
          // Exactly the profile: no password hash rides along with every request's identity.
          expect(found).toStrictEqual({ session, user: profileOf(ann) });
          expect(JSON.stringify(found)).not.toContain(ann.passwordHash);
        });

        it('sees touches and role changes at once', async () => {
          const user = await createUser();
          const session = await createSession(user.id);
          const update = { lastSeenAt: T0 + 5 * MINUTE, idleExpiresAt: T0 + 35 * MINUTE };
          await store.sessions.touch(session.id, update);
          await store.users.updateRole(user.id, 'admin', T0 + MINUTE);
          expect(await join(`hash-of-${session.id}`)).toEqual({
            session: { ...session, ...update },
            user: { ...profileOf(user), role: 'admin', updatedAt: T0 + MINUTE },
          });
        });

        it('returns null for an unknown or deleted session', async () => {
          const user = await createUser();
          const session = await createSession(user.id);
          expect(await join('unknown-hash')).toBeNull();
          await store.sessions.delete(session.id);
          expect(await join(`hash-of-${session.id}`)).toBeNull();
        });

        it('returns copies', async () => {
          const user = await createUser();
          const session = await createSession(user.id);
          const found = await join(`hash-of-${session.id}`);
          if (found === null) throw new Error('not found');
          found.session.idleExpiresAt = Number.MAX_SAFE_INTEGER;
          found.user.role = 'admin';
          expect(await join(`hash-of-${session.id}`)).toEqual({ session, user: profileOf(user) });
        });
      }
    });

    describe('records are copies', () => {
      it('does not let a caller change a stored user through a record', async () => {
        const input = makeUser();
        const created = await store.users.create(input);
        const snapshot = { ...input };
        input.role = 'admin';
        if (created === null) throw new Error('not created');
        created.passwordHash = 'tampered';
        const found = await store.users.findById(snapshot.id);
        if (found === null) throw new Error('not found');
        found.email = 'tampered@example.com';
        const [listed] = await store.users.list();
        if (listed === undefined) throw new Error('not listed');
        listed.name = 'tampered';
        expect(await store.users.findById(snapshot.id)).toEqual(snapshot);
        expect(await store.users.findByEmail(snapshot.email)).toEqual(snapshot);
      });

      it('does not let a caller change a stored session through a record', async () => {
        const user = await createUser();
        const input = makeSession(user.id);
        const snapshot = { ...input };
        await store.sessions.create(input);
        input.idleExpiresAt = Number.MAX_SAFE_INTEGER;
        const found = await store.sessions.findById(snapshot.id);
        if (found === null) throw new Error('not found');
        found.userId = 'usr_other';
        const [listed] = await store.sessions.listByUser(user.id);
        if (listed === undefined) throw new Error('not listed');
        listed.absoluteExpiresAt = Number.MAX_SAFE_INTEGER;
        expect(await store.sessions.findById(snapshot.id)).toEqual(snapshot);
        expect(await store.sessions.findBySecretHash(`hash-of-${snapshot.id}`)).toEqual(snapshot);
      });
    });

    describe('lifecycle', () => {
      it('answers ping while open', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('rejects every call with StoreUnavailableError after close, and closes twice quietly', async () => {
        const user = await createUser();
        await store.close();
        await expect(store.close()).resolves.toBeUndefined();
        const calls: (() => Promise<unknown>)[] = [
          () => store.ping(),
          () => store.users.create(makeUser()),
          () => store.users.findById(user.id),
          () => store.users.findByEmail(user.email),
          () => store.users.updatePasswordHash(user.id, 'x', T0),
          () => store.users.updateRole(user.id, 'admin', T0),
          () => store.users.list(),
          () => store.sessions.create(makeSession(user.id)),
          () => store.sessions.findById('ses_x'),
          () => store.sessions.findBySecretHash('x'),
          ...(store.findSessionWithUser ? [() => store.findSessionWithUser!('x')] : []),
          ...(store.findSessionWithUserNow
            ? [() => Promise.resolve().then(() => store.findSessionWithUserNow!('x'))]
            : []),
          () => store.sessions.touch('ses_x', { lastSeenAt: T0, idleExpiresAt: T0 }),
          () => store.sessions.listByUser(user.id),
          () => store.sessions.delete('ses_x'),
          () => store.sessions.deleteByUser(user.id),
          () => store.sessions.deleteExpired(T0),
        ];
        for (const call of calls) {
          await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
        }
      });

      // Only stores that persist have a reopen; the memory store is not asked to survive one.

      if (options.persistent)
        it('keeps users and sessions across a reopen', async () => {
          const { reopen } = fixture;
          if (reopen === undefined) throw new Error('a persistent store fixture must provide reopen');
          const user = await createUser({ name: 'Ann' });
          const cookie = await createSession(user.id);
          const token = await createSession(user.id, { method: 'token', secretHash: null, userAgent: null, ip: null });
          await store.users.updateRole(user.id, 'admin', T0 + 1);
          await store.sessions.touch(cookie.id, { lastSeenAt: T0 + 2, idleExpiresAt: T0 + 3 });

          const reopened = await reopen();
          expect(await reopened.users.findByEmail(user.email)).toEqual({ ...user, role: 'admin', updatedAt: T0 + 1 });
          expect(await reopened.sessions.findBySecretHash(`hash-of-${cookie.id}`)).toEqual({
            ...cookie,
            lastSeenAt: T0 + 2,
            idleExpiresAt: T0 + 3,
          });
          expect(await reopened.sessions.findById(token.id)).toEqual(token);
          expect(await reopened.users.create(makeUser({ email: user.email }))).toBeNull();
        });
    });
  });
}
