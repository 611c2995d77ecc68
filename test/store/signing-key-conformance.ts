import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { SigningKeyRecord, Store } from '../../src/store/types.js';
import type { StoreFixture } from './conformance.js';
import { expectCallerBug, makeSigningKey, MINUTE, T0 } from './fixtures.js';

const sorted = (kids: string[]): string[] => [...kids].sort();

/** The signing-key half of the store contract, for every store; registered beside `defineStoreConformance`. */
export function defineSigningKeyConformance(
  name: string,
  open: () => Promise<StoreFixture>,
  options: { persistent: boolean },
): void {
  describe(`signing key conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    async function createKey(overrides: Partial<SigningKeyRecord> = {}): Promise<SigningKeyRecord> {
      const key = makeSigningKey(overrides);
      await store.signingKeys.create(key);
      return key;
    }

    it('lists every key oldest first: by createdAt, then kid', async () => {
      expect(await store.signingKeys.list()).toEqual([]);
      const c = await createKey({ kid: 'kid_c', createdAt: T0 + 2 });
      const b = await createKey({ kid: 'kid_b', createdAt: T0 + 1, publicJwk: null, alg: 'HS256' });
      const d = await createKey({ kid: 'kid_d', createdAt: T0 + 1, retiredAt: T0 + 5, expiresAt: T0 + 9 });
      const a = await createKey({ kid: 'kid_a', createdAt: T0 + 3 });
      expect(await store.signingKeys.list()).toEqual([b, d, c, a]);
    });

    it('rejects a second key with the same kid and keeps the first', async () => {
      const first = await createKey();
      await expectCallerBug(store.signingKeys.create(makeSigningKey({ kid: first.kid, alg: 'HS256' })));
      expect(await store.signingKeys.list()).toEqual([first]);
    });

    it('retires exactly the keys still signing that come before the named one, and returns their kids', async () => {
      const old = await createKey({ createdAt: T0 });
      const older = await createKey({ createdAt: T0 - MINUTE });
      const alreadyRetired = await createKey({ createdAt: T0 - 2 * MINUTE, retiredAt: T0 - 1, expiresAt: T0 + 9 });
      const current = await createKey({ kid: 'kid_a', createdAt: T0 + MINUTE });
      // Same time, kid before it bytewise (not in most locales' collations, where 'a' < 'B').
      const tieBefore = await createKey({ kid: 'kid_B', createdAt: T0 + MINUTE });
      const tieAfter = await createKey({ kid: 'kid_b', createdAt: T0 + MINUTE });
      // A key another instance created after it (a rotation at the same moment) keeps signing.
      const later = await createKey({ createdAt: T0 + 2 * MINUTE });
      const retiredAt = T0 + 2 * MINUTE;
      const expiresAt = retiredAt + 15 * MINUTE;
      const retired = await store.signingKeys.retireOlderThan(current, retiredAt, expiresAt);
      expect(sorted(retired)).toEqual(sorted([old.kid, older.kid, tieBefore.kid]));
      const ring = [
        alreadyRetired,
        { ...older, retiredAt, expiresAt },
        { ...old, retiredAt, expiresAt },
        { ...tieBefore, retiredAt, expiresAt },
        current,
        tieAfter,
        later,
      ];
      expect(await store.signingKeys.list()).toEqual(ring);
      // Again: nothing before it is left signing, and retired keys keep their deadlines.
      expect(await store.signingKeys.retireOlderThan(current, retiredAt + 1, expiresAt + 1)).toEqual([]);
      expect(await store.signingKeys.list()).toEqual(ring);
    });

    it('deletes keys that expire at or before now, and only those', async () => {
      const now = T0 + 60 * MINUTE;
      await createKey({ retiredAt: T0, expiresAt: now - 1 });
      await createKey({ retiredAt: T0, expiresAt: now });
      const later = await createKey({ retiredAt: T0, expiresAt: now + 1 });
      const signing = await createKey({ createdAt: T0 + 1 });
      expect(await store.signingKeys.deleteExpired(now)).toBe(2);
      expect(await store.signingKeys.list()).toEqual([later, signing]);
      expect(await store.signingKeys.deleteExpired(now)).toBe(0);
      expect(await store.signingKeys.deleteExpired(now + 1)).toBe(1);
      expect(await store.signingKeys.list()).toEqual([signing]);
    });

    it('does not let a caller change a stored key through a record', async () => {
      const input = makeSigningKey();
      const snapshot = { ...input };
      await store.signingKeys.create(input);
      input.privateJwkSealed = 'tampered';
      const [listed] = await store.signingKeys.list();
      if (listed === undefined) throw new Error('not listed');
      listed.retiredAt = T0;
      expect(await store.signingKeys.list()).toEqual([snapshot]);
    });

    // Only stores that persist have a reopen; the memory store is not asked to survive one.

    if (options.persistent)
      it('keeps keys across a reopen', async () => {
        const { reopen } = fixture;
        if (reopen === undefined) throw new Error('a persistent store fixture must provide reopen');
        const old = await createKey({ publicJwk: null, alg: 'HS256' });
        const current = await createKey({ createdAt: T0 + 1 });
        await store.signingKeys.retireOlderThan(current, T0 + 2, T0 + 3);
        store = await reopen();
        expect(await store.signingKeys.list()).toEqual([{ ...old, retiredAt: T0 + 2, expiresAt: T0 + 3 }, current]);
      });

    it('rejects every call with StoreUnavailableError after close', async () => {
      const key = await createKey();
      await store.close();
      const calls: (() => Promise<unknown>)[] = [
        () => store.signingKeys.list(),
        () => store.signingKeys.create(makeSigningKey()),
        () => store.signingKeys.retireOlderThan(key, T0, T0),
        () => store.signingKeys.deleteExpired(T0),
      ];
      for (const call of calls) {
        await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
      }
    });
  });
}
