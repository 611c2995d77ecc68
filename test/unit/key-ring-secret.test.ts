import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { SigningKeyStore } from '../../src/store/types.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { UnreadableSigningKeysError } from '../../src/tokens/key-ring.js';
import { PUBLISH_DELAY_MS, RETIRE_GRACE_MS, ringOn } from '../helpers/key-ring.js';

// An instance started with a secret other than its siblings' cannot unseal their keys. Creating its
// own would retire theirs, which they then could neither replace nor verify: a fleet-wide outage
// once the grace runs out. It refuses to start instead, and a change of secret is an explicit step.

async function fleetOf(store: SigningKeyStore, clock: ReturnType<typeof createManualClock>) {
  const sealKey = randomBytes(32);
  const ring = ringOn(store, clock, sealKey);
  await ring.init();
  return { sealKey, ring };
}

describe('KeyRing: a secret that cannot unseal the keys still signing', () => {
  it('refuses to start, and leaves every key as it was', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const fleet = await fleetOf(store, clock);
    const before = await store.list();

    const stranger = ringOn(store, clock, randomBytes(32));
    const refusal: unknown = await stranger.init().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnreadableSigningKeysError);
    expect((refusal as UnreadableSigningKeysError).count).toBe(1);
    expect((refusal as Error).message).toMatch(/cannot be unsealed with this secret.*--replace-unreadable/);
    expect(await store.list()).toEqual(before);

    // Long after any grace, the fleet still signs with its key.
    clock.advance(PUBLISH_DELAY_MS + RETIRE_GRACE_MS + 1);
    await fleet.ring.reload();
    expect(fleet.ring.current().kid).toBe(before[0]?.kid);
  });

  it('also refuses under another algorithm: a readable key of its own is what it needs', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    await fleetOf(store, clock);
    const other = ringOn(store, clock, randomBytes(32), 'EdDSA');
    await expect(other.init()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect(await store.list()).toHaveLength(1);
  });

  it('after a rotation with the new secret, starts with it, and the old secret is refused once its key stops signing', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const old = await fleetOf(store, clock);
    const newSecret = randomBytes(32);

    // What `coatcheck keys rotate --replace-unreadable` runs: a rotation without init's refusal.
    const replacing = ringOn(store, clock, newSecret);
    await replacing.reload();
    const replacement = await replacing.rotate();
    const [oldKey] = (await store.list()).filter((record) => record.kid !== replacement.kid);
    expect(oldKey?.retiredAt).toBe(clock.now() + PUBLISH_DELAY_MS);

    const restarted = ringOn(store, clock, newSecret);
    await restarted.init();
    expect(restarted.current().kid).toBe(replacement.kid);
    expect(await store.list()).toHaveLength(2);

    // While the old key may still sign, an instance on the old secret starts and signs with it.
    const lagging = ringOn(store, clock, old.sealKey);
    await lagging.init();
    expect(lagging.current().kid).toBe(oldKey?.kid);
    // Once it has stopped signing, such an instance refuses rather than retire the new key.
    clock.advance(PUBLISH_DELAY_MS + 1);
    await expect(ringOn(store, clock, old.sealKey).init()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect((await store.list()).find((record) => record.kid === replacement.kid)?.retiredAt).toBeNull();
  });

  it('uses a sibling key created after its load, rather than creating one or refusing', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const sealKey = randomBytes(32);
    const sibling = ringOn(store, clock, sealKey);
    let lists = 0;
    // Fault injection: the sibling's first key lands just after this ring's load read an empty store.
    const racing: SigningKeyStore = {
      ...store,
      async list() {
        const records = await store.list();
        lists += 1;
        if (lists === 1) await sibling.init();
        return records;
      },
    };
    const late = ringOn(racing, clock, sealKey);
    await late.init();
    expect(await store.list()).toHaveLength(1);
    expect(late.current().kid).toBe(sibling.current().kid);
  });
});
