import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { createSqliteStore, type SqliteStore } from '../../src/stores/sqlite/index.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { OtherAlgorithmError } from '../../src/tokens/other-algorithm-error.js';
import { createsMeetFirst, PUBLISH_DELAY_MS, RETIRE_GRACE_MS, ringOn } from '../helpers/key-ring.js';

// Instances sharing a store, one of them configured with another algorithm (COATCHECK_JWT_ALG)
// than the fleet's. Each opens the SQLite file on its own, as separate processes would.

const opened: SqliteStore[] = [];
let dir: string | undefined;
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function instancesOnOneFile(): [SqliteStore, SqliteStore] {
  dir = mkdtempSync(join(tmpdir(), 'coatcheck-key-ring-alg-'));
  const path = join(dir, 'coatcheck.db');
  const stores: [SqliteStore, SqliteStore] = [createSqliteStore({ path }), createSqliteStore({ path })];
  opened.push(...stores);
  return stores;
}

describe('KeyRing: an instance configured with another algorithm than the store signs with', () => {
  it("refuses to start, and leaves the fleet's key signing", async () => {
    const clock = createManualClock();
    const sealKey = randomBytes(32);
    const [fleetStore, strayStore] = instancesOnOneFile();
    const fleet = ringOn(fleetStore.signingKeys, clock, sealKey, 'ES256');
    await fleet.init();
    const fleetKey = fleet.current().kid;
    clock.advance(10 * 60_000);

    const stray = ringOn(strayStore.signingKeys, clock, sealKey, 'HS256');
    await expect(stray.init()).rejects.toBeInstanceOf(OtherAlgorithmError);
    await expect(stray.init()).rejects.toThrow(
      /^the store's keys sign with ES256, and this ring is configured for HS256 .* Refusing, so as not to retire their key/,
    );
    // Nothing written: the fleet's key is not scheduled to retire, and no HS256 key was made.
    expect((await fleetStore.signingKeys.list()).map((key) => [key.kid, key.alg, key.retiredAt])).toEqual([
      [fleetKey, 'ES256', null],
    ]);
    // Long after any retirement's grace, the fleet still signs with its key.
    clock.advance(PUBLISH_DELAY_MS + RETIRE_GRACE_MS + 1);
    await fleet.reload();
    expect(fleet.current().kid).toBe(fleetKey);
  });

  it('of two instances on two algorithms starting at once on an empty store, one refuses and one key signs', async () => {
    for (const [first, second] of [
      ['ES256', 'HS256'],
      ['HS256', 'ES256'],
    ] as const) {
      const clock = createManualClock();
      const store = createMemoryStore().signingKeys;
      const sealKey = randomBytes(32);
      const held = createsMeetFirst(store, 2);
      const results = await Promise.allSettled([
        ringOn(held, clock, sealKey, first).init(),
        ringOn(held, clock, sealKey, second).init(),
      ]);
      expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
      const signing = (await store.list()).filter((key) => key.retiredAt === null);
      expect(signing).toHaveLength(1);
      const started = results[0].status === 'fulfilled' ? first : second;
      expect(signing[0]!.alg).toBe(started);
    }
  });

  it('changes algorithm only by a rotation: published first, the old key retiring as in any rotation', async () => {
    const clock = createManualClock();
    const sealKey = randomBytes(32);
    const [fleetStore, operatorStore] = instancesOnOneFile();
    const fleet = ringOn(fleetStore.signingKeys, clock, sealKey, 'ES256');
    await fleet.init();
    const old = fleet.current().kid;
    clock.advance(10 * 60_000);

    const changed = await ringOn(operatorStore.signingKeys, clock, sealKey, 'EdDSA').rotate();
    await fleet.reload();
    // The fleet goes on signing with its key until the new one is published.
    expect(fleet.current().kid).toBe(old);
    expect(fleet.jwks().keys.map((key) => key.kid)).toContain(changed.kid);
    // Instances restarted with the new algorithm start; one left on the old one refuses.
    clock.advance(PUBLISH_DELAY_MS);
    const restarted = ringOn(fleetStore.signingKeys, clock, sealKey, 'EdDSA');
    await restarted.init();
    expect(restarted.current().kid).toBe(changed.kid);
    await expect(ringOn(fleetStore.signingKeys, clock, sealKey, 'ES256').init()).rejects.toThrow(
      /^the store's keys sign with EdDSA, and this ring is configured for ES256/,
    );
    // And its old key still verifies until its tokens have expired.
    expect(await restarted.find(old)).toBeDefined();
  });
});
