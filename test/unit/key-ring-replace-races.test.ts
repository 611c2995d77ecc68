import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { SigningKeyRecord, SigningKeyStore } from '../../src/store/types.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { generateKeyRecord } from '../../src/tokens/generate-key-record.js';
import { UnreadableSigningKeysError } from '../../src/tokens/unreadable-signing-keys-error.js';
import { createsMeetFirst, gate, PUBLISH_DELAY_MS, RETIRE_GRACE_MS, ringOn } from '../helpers/key-ring.js';

// A replacement (`rotate({ replaceUnreadable: true })`, a change of secret) racing instances on the
// old secret, or another replacement. It may lose and reject, to be run again; it must never leave
// the store with no key signing, which takes every instance down once the grace runs out.

async function storeWithOldKey() {
  const clock = createManualClock();
  const store = createMemoryStore().signingKeys;
  const oldSecret = randomBytes(32);
  await ringOn(store, clock, oldSecret).init();
  clock.advance(10_000);
  return { clock, store, oldSecret };
}

const stillSigning = async (store: SigningKeyStore) =>
  (await store.list()).filter((record) => record.retiredAt === null).map((record) => record.kid);

describe('KeyRing: a replacement of the secret racing others', () => {
  it('overtaken by a key the old secret stores after its own, it rejects and keeps its key; run again, it settles', async () => {
    const { clock, store, oldSecret } = await storeWithOldKey();
    let injectAfterCreate = true;
    // An instance on the old secret starts just after the replacement stores its key, and dates its
    // own after it: the last key in the store's order is one the replacement cannot read.
    const racing: SigningKeyStore = {
      ...store,
      async create(record) {
        await store.create(record);
        if (!injectAfterCreate) return;
        injectAfterCreate = false;
        await store.create(await generateKeyRecord('HS256', oldSecret, record.createdAt + 1));
      },
    };
    const replacing = ringOn(racing, clock, randomBytes(32));
    const refusal: unknown = await replacing.rotate({ replaceUnreadable: true }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnreadableSigningKeysError);
    // Said as what happened after writing, not as a refusal to write: the command is to be run again.
    expect((refusal as Error).message).toMatch(
      /^1 signing key\(s\) sealed under another secret appeared while the old secret's keys were being replaced: .* The new key is stored and the keys read before were retired; stop the instances on the old secret and run the replacement again$/,
    );
    const [, replacementKey, overtaking] = await store.list();
    expect(await stillSigning(store)).toEqual([replacementKey?.kid, overtaking?.kid]);

    const settled = await replacing.rotate({ replaceUnreadable: true });
    expect(await stillSigning(store)).toEqual([settled.kid]);
    expect(await replacing.unreadableKeysStillSigning()).toBe(0);
  });

  it('racing a plain rotation on the old secret (its host 1 s ahead), exactly one key is left signing', async () => {
    const { clock, store, oldSecret } = await storeWithOldKey();
    // The replacement has dated its key from a read holding only the old key. Then the old
    // secret's rotation stores its key (dated after, its host's clock being ahead) and reads the
    // store (nothing it cannot unseal), the replacement's key lands, and the rotation retires.
    const reached = gate();
    const release = gate();
    const oldStore: SigningKeyStore = {
      ...store,
      async retireOlderThan(newest, retiredAt, expiresAt) {
        reached.open();
        await release.opened;
        return store.retireOlderThan(newest, retiredAt, expiresAt);
      },
    };
    const oldRotator = ringOn(oldStore, createManualClock(clock.now() + 1_000), oldSecret);
    let oldRotation: Promise<SigningKeyRecord> | undefined;
    const newStore: SigningKeyStore = {
      ...store,
      async create(record) {
        oldRotation = oldRotator.rotate();
        await reached.opened;
        await store.create(record);
        release.open();
        await oldRotation;
      },
    };
    const replacing = ringOn(newStore, clock, randomBytes(32));
    await expect(replacing.rotate({ replaceUnreadable: true })).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    const oldKey = await oldRotation!;

    expect(await stillSigning(store)).toEqual([oldKey.kid]);
    clock.advance(PUBLISH_DELAY_MS + RETIRE_GRACE_MS + 2_000);
    await expect(ringOn(store, clock, oldSecret).init()).resolves.toBeUndefined();
  });

  it("counts a key the old secret stored after the retirement's read, and retired with the rest, as the old secret's", async () => {
    const { clock, store, oldSecret } = await storeWithOldKey();
    const [oldKey] = await store.list();
    let late: SigningKeyRecord | undefined;
    // An instance on the old secret stores its first key (dated just after the old one, before the
    // replacement's) between the replacement's read of the store and its retirement.
    const racing: SigningKeyStore = {
      ...store,
      async retireOlderThan(newest, retiredAt, expiresAt) {
        late ??= await generateKeyRecord('HS256', oldSecret, oldKey!.createdAt + 1);
        await store.create(late);
        return store.retireOlderThan(newest, retiredAt, expiresAt);
      },
    };
    const replacement = await ringOn(racing, clock, randomBytes(32)).rotateAndReport({ replaceUnreadable: true });
    const both = [oldKey!.kid, late!.kid].sort();
    expect([[...replacement.retired].sort(), [...replacement.retiredUnreadable].sort()]).toEqual([both, both]);
    expect(await stillSigning(store)).toEqual([replacement.key.kid]);
  });

  it('two replacements on two new secrets at once: one wins, the other rejects, one key signs', async () => {
    const { clock, store } = await storeWithOldKey();
    const held = createsMeetFirst(store, 2);
    const rings = [ringOn(held, clock, randomBytes(32)), ringOn(held, clock, randomBytes(32))];
    const outcomes = await Promise.allSettled(rings.map((ring) => ring.rotate({ replaceUnreadable: true })));

    const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.kid] : []));
    const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(UnreadableSigningKeysError);
    expect(await stillSigning(store)).toEqual(won);
  });
});
