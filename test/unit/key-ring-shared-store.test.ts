import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { SigningKeyStore } from '../../src/store/types.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { OtherAlgorithmError } from '../../src/tokens/other-algorithm-error.js';
import { createsMeetFirst, PUBLISH_DELAY_MS, RETIRE_GRACE_MS, ringOn } from '../helpers/key-ring.js';

// Instances that start together on an empty store each find no key and create one. Whatever order
// their store calls land in, at least one key must stay able to sign, every instance must end up
// signing with the same key, and each must verify what the others signed.

/** A store whose one key is EdDSA's, and a clock a second past its creation: then the rings switch to HS256. */
async function storeWithAnEdDsaKey() {
  const clock = createManualClock();
  const store = createMemoryStore().signingKeys;
  const sealKey = randomBytes(32);
  await ringOn(store, clock, sealKey, 'EdDSA').init();
  const [oldAlgorithm] = await store.list();
  if (oldAlgorithm === undefined) throw new Error('no EdDSA key');
  clock.advance(1_000);
  return { clock, store, sealKey, oldAlgorithm };
}

describe('KeyRing: instances starting together on an empty store', () => {
  it('never retires every first key, when all the creates land before any retirement', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const sealKey = randomBytes(32);
    const held = createsMeetFirst(store, 2);
    const [a, b] = [ringOn(held, clock, sealKey), ringOn(held, clock, sealKey)];
    await Promise.all([a.init(), b.init()]);

    const records = await store.list();
    expect(records).toHaveLength(2);
    // The later key in the store's order keeps signing; the other hands over like a rotation.
    expect(records.filter((record) => record.retiredAt === null)).toEqual([records[1]]);

    // Long after any retirement's grace, a reloaded ring still has a key to sign with.
    clock.advance(PUBLISH_DELAY_MS + RETIRE_GRACE_MS + 1);
    await Promise.all([a.reload(), b.reload()]);
    expect(() => a.current()).not.toThrow();
    expect(a.current().kid).toBe(b.current().kid);
  });

  it('agrees on one signing key, in either order of creation and reload', async () => {
    for (let round = 0; round < 20; round++) {
      const clock = createManualClock();
      const store = createMemoryStore().signingKeys;
      const sealKey = randomBytes(32);
      const [a, b] = [ringOn(store, clock, sealKey), ringOn(store, clock, sealKey)];
      await Promise.all([a.init(), b.init()]);
      await Promise.all([a.reload(), b.reload()]);
      expect(a.current().kid).toBe(b.current().kid);
      // Past the publish delay too: the choice must not flip on one instance only.
      clock.advance(PUBLISH_DELAY_MS + 1);
      await Promise.all([a.reload(), b.reload()]);
      expect(a.current().kid).toBe(b.current().kid);
      const signers = (await store.list()).filter((record) => record.retiredAt === null);
      expect(signers.length).toBeGreaterThanOrEqual(1);
    }
  });

  it("verifies a key a sibling created after this ring's last load, without waiting for the unknown-kid throttle", async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const sealKey = randomBytes(32);
    const b = ringOn(store, clock, sealKey);
    await b.init();
    // A key another instance created after b's last load.
    const a = ringOn(store, clock, sealKey);
    const sibling = await a.rotate();
    expect(b.peek(sibling.kid)).toBeUndefined();
    expect((await b.find(sibling.kid))?.kid).toBe(sibling.kid);
  });
});

describe('KeyRing: rotations and changed algorithms racing on one store', () => {
  it('refuses a changed algorithm at start, even in two instances at once, writing nothing', async () => {
    const { clock, store, sealKey, oldAlgorithm } = await storeWithAnEdDsaKey();
    const held = createsMeetFirst(store, 2);
    const [a, b] = [ringOn(held, clock, sealKey), ringOn(held, clock, sealKey)];
    const results = await Promise.allSettled([a.init(), b.init()]);
    for (const result of results) {
      expect(result.status === 'rejected' && result.reason instanceof OtherAlgorithmError).toBe(true);
    }
    // The store's key may be a fleet's: it stays signing (changing the algorithm is a rotation).
    expect(await store.list()).toEqual([oldAlgorithm]);
  });

  it('leaves one key signing when a slow create lands after another instance created and retired', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const sealKey = randomBytes(32);
    // A has read the (empty) store and dated its key; its create is held until B has finished.
    let releaseA!: () => void;
    const bDone = new Promise<void>((resolve) => (releaseA = resolve));
    let aHeld!: () => void;
    const aAtCreate = new Promise<void>((resolve) => (aHeld = resolve));
    const slow: SigningKeyStore = {
      ...store,
      async create(record) {
        aHeld();
        await bDone;
        return store.create(record);
      },
    };
    const a = ringOn(slow, clock, sealKey);
    const aStarted = a.init();
    await aAtCreate;
    clock.advance(1_000);
    const b = ringOn(store, clock, sealKey);
    await b.init();
    releaseA();
    await aStarted;

    const records = await store.list();
    expect(records).toHaveLength(2);
    // A's key is dated before B's: A retires its own and leaves B's, the last one, signing.
    expect(records.filter((record) => record.retiredAt === null).map((record) => record.kid)).toEqual([
      records[1]!.kid,
    ]);
  });

  it('retires what a change of algorithm left signing when its retirement failed', async () => {
    const { clock, store, sealKey, oldAlgorithm } = await storeWithAnEdDsaKey();
    let failures = 1;
    const flaky: SigningKeyStore = {
      ...store,
      async retireOlderThan(newest, retiredAt, expiresAt) {
        if (failures-- > 0) throw new Error('the store went away');
        return store.retireOlderThan(newest, retiredAt, expiresAt);
      },
    };
    await expect(ringOn(flaky, clock, sealKey).rotate()).rejects.toThrow('the store went away');
    expect((await store.list()).find((record) => record.kid === oldAlgorithm.kid)?.retiredAt).toBeNull();
    // The next start on the new algorithm (whose key is now the last) finds its key and finishes the job.
    await ringOn(flaky, clock, sealKey).init();
    expect((await store.list()).find((record) => record.kid === oldAlgorithm.kid)?.retiredAt).not.toBeNull();
  });

  it('keeps one key signing when two rotations run at once', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const sealKey = randomBytes(32);
    const first = ringOn(store, clock, sealKey);
    await first.init();
    const before = first.current().kid;
    clock.advance(60 * 60_000);
    const held = createsMeetFirst(store, 2);
    const [a, b] = [ringOn(held, clock, sealKey), ringOn(held, clock, sealKey)];
    await Promise.all([a.reload(), b.reload()]);
    const [ka, kb] = await Promise.all([a.rotate(), b.rotate()]);

    const signing = (await store.list()).filter((record) => record.retiredAt === null).map((record) => record.kid);
    expect(signing).toHaveLength(1);
    expect([ka.kid, kb.kid]).toContain(signing[0]);
    clock.advance(PUBLISH_DELAY_MS + RETIRE_GRACE_MS + 1);
    await Promise.all([a.reload(), b.reload()]);
    expect(a.current().kid).toBe(signing[0]);
    expect(b.current().kid).toBe(signing[0]);
    expect(a.peek(before)).toBeUndefined();
  });

  it('dates a new key after every stored key, so a host whose clock runs behind still retires the current one', async () => {
    const ahead = createManualClock(Date.UTC(2026, 0, 1, 12));
    const behind = createManualClock(Date.UTC(2026, 0, 1, 11, 59));
    const store = createMemoryStore().signingKeys;
    const sealKey = randomBytes(32);
    await ringOn(store, ahead, sealKey).init();
    const [current] = await store.list();
    const rotated = await ringOn(store, behind, sealKey).rotate();
    expect(rotated.createdAt).toBeGreaterThan(current!.createdAt);
    expect((await store.list()).find((record) => record.kid === current!.kid)?.retiredAt).not.toBeNull();
  });

  it('does not follow a stored key dated more than 5 minutes ahead (a broken clock)', async () => {
    const broken = createManualClock(Date.UTC(2036, 0, 1));
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const store = createMemoryStore().signingKeys;
    const sealKey = randomBytes(32);
    await ringOn(store, broken, sealKey).init();
    const ring = ringOn(store, clock, sealKey);
    const rotated = await ring.rotate();
    expect(rotated.createdAt).toBe(clock.now());
    // And the rotation takes over signing: the key from the future neither stays last nor retires it.
    expect((await store.list()).find((record) => record.kid === rotated.kid)?.retiredAt).toBeNull();
    clock.advance(PUBLISH_DELAY_MS);
    await ring.reload();
    expect(ring.current().kid).toBe(rotated.kid);
  });
});

describe('KeyRing: tokens naming a kid the ring does not know', () => {
  it('look in the store at most once per 5 s, however many arrive', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    let lists = 0;
    const counted: SigningKeyStore = {
      ...store,
      list() {
        lists += 1;
        return store.list();
      },
    };
    const ring = ringOn(counted, clock, randomBytes(32));
    await ring.init();
    const afterInit = lists;
    for (let i = 0; i < 100; i++) expect(await ring.find(`forged${i}`)).toBeUndefined();
    expect(lists - afterInit).toBe(1);
    clock.advance(4_999);
    expect(await ring.find('forged-again')).toBeUndefined();
    expect(lists - afterInit).toBe(1);
    clock.advance(1);
    expect(await ring.find('forged-later')).toBeUndefined();
    expect(lists - afterInit).toBe(2);
  });
});
