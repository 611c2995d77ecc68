import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { AuthLogger } from '../../src/core/logger.js';
import type { SigningKeyStore } from '../../src/store/types.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { generateKeyRecord } from '../../src/tokens/generate-key-record.js';
import { UnreadableSigningKeysError } from '../../src/tokens/unreadable-signing-keys-error.js';
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

  it('refuses under another secret whatever its algorithm', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    await fleetOf(store, clock);
    const other = ringOn(store, clock, randomBytes(32), 'EdDSA');
    await expect(other.init()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect(await store.list()).toHaveLength(1);
  });

  it('refuses to rotate, unless told to replace them: then the new secret starts and the old one is refused', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const old = await fleetOf(store, clock);
    const [oldKey] = await store.list();
    const newSecret = randomBytes(32);

    const replacing = ringOn(store, clock, newSecret);
    await replacing.reload();
    expect(await replacing.unreadableKeysStillSigning()).toBe(1);
    await expect(replacing.rotate()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect(await store.list()).toEqual([oldKey]);

    // What `coatcheck keys rotate --replace-unreadable` runs.
    const replacement = await replacing.rotate({ replaceUnreadable: true });
    expect((await store.list()).find((record) => record.kid === oldKey?.kid)?.retiredAt).toBe(
      clock.now() + PUBLISH_DELAY_MS,
    );
    const restarted = ringOn(store, clock, newSecret);
    await restarted.init();
    expect(restarted.current().kid).toBe(replacement.kid);
    // A plain rotation with the new secret is no longer refused: the old key is on its way out.
    await expect(restarted.rotate()).resolves.toBeDefined();

    // An instance still on the old secret refuses at once, and retires nothing.
    const before = await store.list();
    await expect(ringOn(store, clock, old.sealKey).init()).rejects.toBeInstanceOf(UnreadableSigningKeysError);
    expect(await store.list()).toEqual(before);
  });

  it('says which keys a rotation retired, and which of them were sealed under another secret', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    const old = await fleetOf(store, clock);
    clock.advance(1_000);
    const plain = await old.ring.rotateAndReport();
    const [first, second] = await store.list();
    expect(second).toEqual(plain.key);
    expect([plain.retired, plain.retiredUnreadable]).toEqual([[first?.kid], []]);

    // Two instances on two secrets started at once, each leaving its key: the new secret's is
    // retired with the old secret's, but only the old one counts as another secret's.
    const newSecret = randomBytes(32);
    clock.advance(1_000);
    const mine = await generateKeyRecord('HS256', newSecret, clock.now());
    await store.create(mine);
    clock.advance(1_000);
    const replacement = await ringOn(store, clock, newSecret).rotateAndReport({ replaceUnreadable: true });
    expect([...replacement.retired].sort()).toEqual([plain.key.kid, mine.kid].sort());
    expect(replacement.retiredUnreadable).toEqual([plain.key.kid]);
    expect((await store.list()).filter((key) => key.retiredAt === null).map((key) => key.kid)).toEqual([
      replacement.key.kid,
    ]);
  });

  it("replaces the old secret's key even when a clock that ran fast dated it far ahead", async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    // The old fleet's first key was made on a host whose clock ran an hour fast. A new key is not
    // dated after such a key, and only keys dated before the last are retired by a rotation.
    await fleetOf(store, createManualClock(clock.now() + 60 * 60_000));
    const [aheadKey] = await store.list();
    const newSecret = randomBytes(32);

    const replacement = await ringOn(store, clock, newSecret).rotate({ replaceUnreadable: true });
    expect((await store.list()).find((record) => record.kid === aheadKey?.kid)?.retiredAt).toBe(
      clock.now() + PUBLISH_DELAY_MS,
    );
    const restarted = ringOn(store, clock, newSecret);
    await restarted.init();
    expect(restarted.current().kid).toBe(replacement.kid);
    // The replacement is dated after it, so a later rotation's key (dated by this clock) signs
    // once published, not before, while the replacement's stays published until the clock reaches its date.
    const next = await restarted.rotate();
    expect(restarted.current().kid).toBe(replacement.kid);
    clock.advance(PUBLISH_DELAY_MS);
    await restarted.reload();
    expect(restarted.current().kid).toBe(next.kid);
    expect(restarted.peek(replacement.kid)?.record.retiredAt).toBeNull();
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

  it('logs each key it cannot unseal once, not at every reload: an error while it is not retired, a warning once it is', async () => {
    const clock = createManualClock();
    const store = createMemoryStore().signingKeys;
    await fleetOf(store, clock);
    const [oldKey] = await store.list();
    const recorder = () => {
      const lines: { level: string; fields: Record<string, unknown> }[] = [];
      const logger: AuthLogger = {
        info: () => undefined,
        warn: (fields) => lines.push({ level: 'warn', fields }),
        error: (fields) => lines.push({ level: 'error', fields }),
      };
      return { lines, logger };
    };
    const unsealable = (level: string, stillSigning: boolean) => ({
      level,
      fields: { event: 'keys.unsealable', kid: oldKey?.kid, stillSigning },
    });
    const newSecret = randomBytes(32);
    const replacing = recorder();
    const ring = ringOn(store, clock, newSecret, 'HS256', replacing.logger);
    for (let i = 0; i < 3; i += 1) await ring.reload();
    await ring.rotate({ replaceUnreadable: true });
    // Restarted on the new secret before the old key stops signing: the normal flow, not an error.
    const restarted = recorder();
    await ringOn(store, clock, newSecret, 'HS256', restarted.logger).init();
    clock.advance(PUBLISH_DELAY_MS);
    for (let i = 0; i < 3; i += 1) await ring.reload();

    expect(replacing.lines).toEqual([unsealable('error', true), unsealable('warn', false)]);
    expect(restarted.lines).toEqual([unsealable('warn', false)]);
  });
});
