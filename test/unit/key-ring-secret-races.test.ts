import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { SigningKeyRecord, SigningKeyStore } from '../../src/store/types.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { generateKeyRecord } from '../../src/tokens/generate-key-record.js';
import type { KeyRing } from '../../src/tokens/key-ring.js';
import { UnreadableSigningKeysError } from '../../src/tokens/unreadable-signing-keys-error.js';
import { createsMeetFirst, gate, PUBLISH_DELAY_MS, RETIRE_GRACE_MS, ringOn } from '../helpers/key-ring.js';

// Instances on two secrets starting at the same moment on an empty store (a first deploy gone
// wrong). None may retire a key that a running instance signs with; each may refuse, and keys left
// behind make later starts refuse until `rotate({ replaceUnreadable: true })` settles the secret.
// Each test forces one interleaving with a fault-injecting store.

/**
 * A stranger (another secret) that has checked the empty store, held before it reads the store to
 * date its key: let go, it dates its key after every key stored meanwhile and stores it.
 */
async function strangerHeldAtCreate(store: SigningKeyStore, clock: ReturnType<typeof createManualClock>) {
  const reached = gate();
  const release = gate();
  const created = gate();
  let lists = 0;
  const held: SigningKeyStore = {
    ...store,
    async list() {
      // Its load, its check, then the read that dates its new key.
      lists += 1;
      if (lists === 3) {
        reached.open();
        await release.opened;
      }
      return store.list();
    },
    async create(record) {
      await store.create(record);
      created.open();
    },
  };
  const starting = ringOn(held, clock, randomBytes(32))
    .init()
    .then(
      () => 'started' as const,
      (error: unknown) => error,
    );
  await reached.opened;
  return {
    /** Lets the stranger's key land; resolves once it is in the store. */
    async land() {
      release.open();
      await created.opened;
    },
    outcome: starting,
  };
}

/** The fleet's first start, done while a stranger that checked the empty store is held. */
async function fleetStartedBesideAStranger() {
  const clock = createManualClock();
  const store = createMemoryStore().signingKeys;
  const fleetSecret = randomBytes(32);
  const stranger = await strangerHeldAtCreate(store, clock);
  const fleet = ringOn(store, clock, fleetSecret);
  await fleet.init();
  return { clock, store, fleetSecret, stranger, fleet };
}

const retiredAt = async (store: SigningKeyStore) =>
  (await store.list()).map((record: SigningKeyRecord) => [record.kid, record.retiredAt]);

/** A running ring's key is not retired, and it still signs with it long after any grace. */
async function expectToKeepSigning(
  ring: KeyRing,
  store: SigningKeyStore,
  clock: ReturnType<typeof createManualClock>,
): Promise<void> {
  const kid = ring.current().kid;
  expect((await retiredAt(store)).filter(([listed]) => listed === kid)).toEqual([[kid, null]]);
  clock.advance(PUBLISH_DELAY_MS + RETIRE_GRACE_MS + 1);
  await ring.reload();
  expect(ring.current().kid).toBe(kid);
}

describe('KeyRing: instances on two secrets starting together', () => {
  it("storing first keys at the same moment, neither retires the other's key", async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    // Both creates are held until both arrive, so both pass the check before writing.
    const held = createsMeetFirst(store, 2);
    const rings = [ringOn(held, clock, randomBytes(32)), ringOn(held, clock, randomBytes(32))];
    const outcomes = await Promise.allSettled(rings.map((ring) => ring.init()));

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    for (const outcome of outcomes) {
      expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(UnreadableSigningKeysError);
    }
    const left = await store.list();
    expect(left.map((record) => record.retiredAt)).toEqual([null, null]);
  });

  it("a stranger whose check ran before the fleet's first key refuses, the fleet keeps its key, and a replace settles it", async () => {
    const { clock, store, fleetSecret, stranger, fleet } = await fleetStartedBesideAStranger();
    // The stranger's key comes after the fleet's: retiring all but the last would retire the fleet's.
    await stranger.land();
    expect(await stranger.outcome).toBeInstanceOf(UnreadableSigningKeysError);

    const fleetKid = fleet.current().kid;
    const [, strangerKey] = await store.list();
    expect(await retiredAt(store)).toEqual([
      [fleetKid, null],
      [strangerKey?.kid, null],
    ]);
    clock.advance(PUBLISH_DELAY_MS + RETIRE_GRACE_MS + 1);
    await fleet.reload();
    expect(fleet.current().kid).toBe(fleetKid);

    // The stranger's key left behind makes the fleet's next start refuse, until it is replaced.
    await expect(ringOn(store, clock, fleetSecret).init()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    await fleet.rotate({ replaceUnreadable: true });
    await expect(ringOn(store, clock, fleetSecret).init()).resolves.toBeUndefined();
  });

  it('a sibling that adopted the key keeps it when its maker then finds a stranger and refuses', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const fleetSecret = randomBytes(32);
    const stranger = await strangerHeldAtCreate(store, clock);
    const sibling = ringOn(store, clock, fleetSecret);
    // The maker's key is adopted by a sibling that starts in full, then the stranger's key lands,
    // all before the maker's retirement reads the store.
    const makerStore: SigningKeyStore = {
      ...store,
      async create(record) {
        await store.create(record);
        await sibling.init();
        await stranger.land();
      },
    };
    await expect(ringOn(makerStore, clock, fleetSecret).init()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect(await stranger.outcome).toBeInstanceOf(UnreadableSigningKeysError);

    await expectToKeepSigning(sibling, store, clock);
  });

  it("a sibling starting on the fleet's key refuses rather than retire it towards a stranger's", async () => {
    const { clock, store, fleetSecret, stranger, fleet } = await fleetStartedBesideAStranger();
    let lists = 0;
    // The stranger's key lands after the sibling's check and before its retirement reads the store.
    const siblingStore: SigningKeyStore = {
      ...store,
      async list() {
        lists += 1;
        if (lists === 3) await stranger.land();
        return store.list();
      },
    };
    const sibling = ringOn(siblingStore, clock, fleetSecret);
    await expect(sibling.init()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect(await stranger.outcome).toBeInstanceOf(UnreadableSigningKeysError);

    await expectToKeepSigning(fleet, store, clock);
  });

  it("a first start refuses when another secret's key lands after its retirement read", async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    let lists = 0;
    // On an empty store: its load, its check, the read dating its key, the retirement's read; the
    // stranger's key, dated after this ring's, lands as the final load starts. Only the final check sees it.
    const racing: SigningKeyStore = {
      ...store,
      async list() {
        lists += 1;
        if (lists === 5) await store.create(await generateKeyRecord('HS256', randomBytes(32), clock.now() + 1));
        return store.list();
      },
    };
    await expect(ringOn(racing, clock, randomBytes(32)).init()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect((await store.list()).map((record) => record.retiredAt)).toEqual([null, null]);
  });

  it("a rotation that finds another secret's key stored meanwhile retires nothing", async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    let injectBeforeCreate = false;
    // Another secret's key lands between the rotation's check and its create.
    const racing: SigningKeyStore = {
      ...store,
      async create(record) {
        if (injectBeforeCreate) await store.create(await generateKeyRecord('HS256', randomBytes(32), clock.now()));
        return store.create(record);
      },
    };
    const ring = ringOn(racing, clock, randomBytes(32));
    await ring.init();
    const own = ring.current().kid;
    clock.advance(1);
    injectBeforeCreate = true;

    await expect(ring.rotate()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect((await store.list()).map((record) => record.retiredAt)).toEqual([null, null, null]);
    expect(ring.current().kid).toBe(own);
  });
});
