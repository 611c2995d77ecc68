import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { Store } from '../../src/store/types.js';
import type { StoreFixture } from './conformance.js';
import { expectCallerBug, makeRefreshFamily, makeRotation, makeTokenHash, MINUTE, T0 } from './fixtures.js';
import {
  createFamily,
  createRotatedFamily,
  createTokenSession,
  expectFamilyGone,
  expectFamilyIntact,
} from './refresh-family-helpers.js';

/** The refresh-family half of the store contract, for every store; registered beside `defineStoreConformance`. */
export function defineRefreshFamilyConformance(
  name: string,
  open: () => Promise<StoreFixture>,
  options: { persistent: boolean },
): void {
  describe(`refresh family conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('creates a family and finds it by id and by its token hash', async () => {
      const family = await createFamily(store);
      expect(await store.refreshFamilies.findById(family.id)).toEqual(family);
      expect(await store.refreshFamilies.findByTokenHash(family.currentHash)).toEqual(family);
    });

    it('returns null for an unknown id or token hash', async () => {
      const family = await createFamily(store);
      expect(await store.refreshFamilies.findById('rfm_unknown')).toBeNull();
      expect(await store.refreshFamilies.findByTokenHash('hash_unknown')).toBeNull();
      expect(await store.refreshFamilies.findByTokenHash(family.id)).toBeNull();
    });

    it('rejects a colliding family, or one for a missing session, and writes nothing', async () => {
      const first = await createFamily(store);
      const sessionOf = { id: first.sessionId, userId: first.userId };
      const clashes = [
        makeRefreshFamily(await createTokenSession(store), { id: first.id }),
        makeRefreshFamily(await createTokenSession(store), { currentHash: first.currentHash }),
        makeRefreshFamily(sessionOf),
        makeRefreshFamily({ id: 'ses_unknown', userId: first.userId }),
      ];
      for (const clash of clashes) {
        await expectCallerBug(store.refreshFamilies.create(clash));
        if (clash.id !== first.id) expect(await store.refreshFamilies.findById(clash.id)).toBeNull();
        if (clash.currentHash !== first.currentHash) {
          expect(await store.refreshFamilies.findByTokenHash(clash.currentHash)).toBeNull();
        }
      }
      expect(await store.refreshFamilies.findById(first.id)).toEqual(first);
      expect(await store.refreshFamilies.findByTokenHash(first.currentHash)).toEqual(first);
    });

    it('rotates when the expected hash is current, and every hash it had still finds it', async () => {
      const family = await createFamily(store);
      const first = makeRotation(family.currentHash, T0 + MINUTE);
      expect(await store.refreshFamilies.rotate(family.id, family.currentHash, first)).toBe(true);
      const once = { ...family, ...first, generation: 1 };
      expect(await store.refreshFamilies.findById(family.id)).toEqual(once);

      const second = makeRotation(first.currentHash, T0 + 2 * MINUTE);
      expect(await store.refreshFamilies.rotate(family.id, first.currentHash, second)).toBe(true);
      const twice = { ...family, ...second, generation: 2 };
      expect(await store.refreshFamilies.findById(family.id)).toEqual(twice);
      for (const hash of [family.currentHash, first.currentHash, second.currentHash]) {
        expect(await store.refreshFamilies.findByTokenHash(hash)).toEqual(twice);
      }
    });

    it('refuses a stale, wrong or unknown rotation and changes nothing', async () => {
      const { family, hashes } = await createRotatedFamily(store);
      const attempts: [string, string][] = [
        [family.id, hashes[0] ?? ''],
        [family.id, hashes[1] ?? ''],
        [family.id, 'hash_unknown'],
        ['rfm_unknown', family.currentHash],
      ];
      for (const [familyId, expected] of attempts) {
        const next = makeRotation(expected, T0 + 10 * MINUTE);
        expect(await store.refreshFamilies.rotate(familyId, expected, next)).toBe(false);
        expect(await store.refreshFamilies.findByTokenHash(next.currentHash)).toBeNull();
      }
      expect(await store.refreshFamilies.findById('rfm_unknown')).toBeNull();
      await expectFamilyIntact(store, { family, hashes });
    });

    it('rejects a rotation to a hash that is already indexed, and changes nothing', async () => {
      const ann = await createRotatedFamily(store);
      const bob = await createRotatedFamily(store);
      for (const taken of [bob.family.currentHash, ann.hashes[0] ?? '']) {
        const next = { ...makeRotation(ann.family.currentHash, T0 + 10 * MINUTE), currentHash: taken };
        await expectCallerBug(store.refreshFamilies.rotate(ann.family.id, ann.family.currentHash, next));
      }
      await expectFamilyIntact(store, ann);
      await expectFamilyIntact(store, bob);
    });

    it('lets exactly one of 100 concurrent rotations of one token win', async () => {
      const family = await createFamily(store);
      const attempts = Array.from({ length: 100 }, () => makeRotation(family.currentHash, T0 + MINUTE));
      const results = await Promise.all(
        attempts.map((next) => store.refreshFamilies.rotate(family.id, family.currentHash, next)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = attempts[results.indexOf(true)];
      expect(await store.refreshFamilies.findById(family.id)).toEqual({ ...family, ...winner, generation: 1 });
      const losers = attempts.filter((next) => next !== winner);
      for (const next of losers) expect(await store.refreshFamilies.findByTokenHash(next.currentHash)).toBeNull();
    });

    it("deletes a session's family and all its hashes with the session", async () => {
      const doomed = await createRotatedFamily(store);
      const other = await createRotatedFamily(store, { userId: doomed.session.userId });
      expect(await store.sessions.delete(doomed.session.id)).toBe(true);
      await expectFamilyGone(store, doomed);
      await expectFamilyIntact(store, other);
    });

    it("deletes the families of a user's sessions with them, sparing exceptId and other users", async () => {
      const doomed = await createRotatedFamily(store);
      const { userId } = doomed.session;
      const alsoDoomed = await createRotatedFamily(store, { userId });
      const kept = await createRotatedFamily(store, { userId });
      const otherUser = await createRotatedFamily(store);
      const deleted = await store.sessions.deleteByUser(userId, { exceptId: kept.session.id });
      expect([...deleted].sort()).toEqual([doomed.session.id, alsoDoomed.session.id].sort());
      await expectFamilyGone(store, doomed);
      await expectFamilyGone(store, alsoDoomed);
      await expectFamilyIntact(store, kept);
      await expectFamilyIntact(store, otherUser);
    });

    it('deletes the families of expired sessions with them', async () => {
      const now = T0 + 60 * MINUTE;
      const idle = await createRotatedFamily(store, { idleExpiresAt: now });
      const absolute = await createRotatedFamily(store, {
        userId: idle.session.userId,
        idleExpiresAt: now + 1,
        absoluteExpiresAt: now - 1,
      });
      const alive = await createRotatedFamily(store, { userId: idle.session.userId, idleExpiresAt: now + 1 });
      expect(await store.sessions.deleteExpired(now)).toBe(2);
      await expectFamilyGone(store, idle);
      await expectFamilyGone(store, absolute);
      await expectFamilyIntact(store, alive);
    });

    it('does not let a caller change a stored family through a record', async () => {
      const input = makeRefreshFamily(await createTokenSession(store));
      const snapshot = { ...input };
      await store.refreshFamilies.create(input);
      input.currentHash = makeTokenHash();
      const found = await store.refreshFamilies.findById(snapshot.id);
      if (found === null) throw new Error('not found');
      found.generation = 99;
      const byHash = await store.refreshFamilies.findByTokenHash(snapshot.currentHash);
      if (byHash === null) throw new Error('not found by hash');
      byHash.absoluteExpiresAt = Number.MAX_SAFE_INTEGER;
      expect(await store.refreshFamilies.findById(snapshot.id)).toEqual(snapshot);
      expect(await store.refreshFamilies.findByTokenHash(input.currentHash)).toBeNull();
    });

    it('rejects every call with StoreUnavailableError after close', async () => {
      const family = await createFamily(store);
      await store.close();
      const calls: (() => Promise<unknown>)[] = [
        () => store.refreshFamilies.create(makeRefreshFamily({ id: family.sessionId, userId: family.userId })),
        () => store.refreshFamilies.findById(family.id),
        () => store.refreshFamilies.findByTokenHash(family.currentHash),
        () => store.refreshFamilies.rotate(family.id, family.currentHash, makeRotation(family.currentHash, T0)),
      ];
      for (const call of calls) {
        await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
      }
    });

    // Only stores that persist have a reopen; the memory store is not asked to survive one.

    if (options.persistent)
      it('keeps families, their whole hash history and the compare-and-swap across a reopen', async () => {
        const { reopen } = fixture;
        if (reopen === undefined) throw new Error('a persistent store fixture must provide reopen');
        const rotated = await createRotatedFamily(store);
        const fresh = await createFamily(store);
        store = await reopen();
        await expectFamilyIntact(store, rotated);
        await expectFamilyIntact(store, { family: fresh, hashes: [fresh.currentHash] });
        const stale = makeRotation(rotated.hashes[0] ?? '', T0 + 10 * MINUTE);
        expect(await store.refreshFamilies.rotate(rotated.family.id, stale.previousHash, stale)).toBe(false);
        const next = makeRotation(rotated.family.currentHash, T0 + 10 * MINUTE);
        expect(await store.refreshFamilies.rotate(rotated.family.id, rotated.family.currentHash, next)).toBe(true);
        expect(await store.refreshFamilies.findByTokenHash(rotated.hashes[0] ?? '')).toMatchObject({ generation: 3 });
      });
  });
}
