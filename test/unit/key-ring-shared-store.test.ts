import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { SigningKeyStore } from '../../src/store/types.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { KeyRing } from '../../src/tokens/key-ring.js';

// Instances that start together on an empty store each find no key and create one. Whatever order
// their store calls land in, at least one key must stay able to sign, every instance must end up
// signing with the same key, and each must verify what the others signed.

const PUBLISH_DELAY_MS = 60_000;
const RETIRE_GRACE_MS = 670_000;

/** Fault injection: holds every `create` until `count` of them have arrived, then lets all through. */
function createsMeetFirst(store: SigningKeyStore, count: number): SigningKeyStore {
  let arrived = 0;
  let release!: () => void;
  const allArrived = new Promise<void>((resolve) => (release = resolve));
  return {
    ...store,
    async create(record) {
      arrived += 1;
      if (arrived === count) release();
      await allArrived;
      return store.create(record);
    },
  };
}

function ringOn(store: SigningKeyStore, clock: ReturnType<typeof createManualClock>, sealKey: Uint8Array): KeyRing {
  return new KeyRing({
    store,
    sealKey,
    algorithm: 'HS256',
    clock,
    retireGraceMs: RETIRE_GRACE_MS,
    publishDelayMs: PUBLISH_DELAY_MS,
    logger: silentLogger,
  });
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
    expect(records.filter((record) => record.retiredAt === null).length).toBeGreaterThanOrEqual(1);

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
    // A sibling whose first key b has not loaded (it raced b's init and lost the store's order).
    const a = ringOn(store, clock, sealKey);
    const sibling = await a.rotate();
    expect(b.peek(sibling.kid)).toBeUndefined();
    expect((await b.find(sibling.kid))?.kid).toBe(sibling.kid);
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
