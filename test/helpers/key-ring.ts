import type { createManualClock } from '../../src/core/clock.js';
import { silentLogger, type AuthLogger } from '../../src/core/logger.js';
import type { SigningKeyStore } from '../../src/store/types.js';
import { KeyRing, type JwtAlgorithm } from '../../src/tokens/key-ring.js';

export const PUBLISH_DELAY_MS = 60_000;
export const RETIRE_GRACE_MS = 670_000;

/** A ring on `store`, as one instance of a fleet sharing it would hold, on a controllable clock. */
export function ringOn(
  store: SigningKeyStore,
  clock: ReturnType<typeof createManualClock>,
  sealKey: Uint8Array,
  algorithm: JwtAlgorithm = 'HS256',
  logger: AuthLogger = silentLogger,
): KeyRing {
  return new KeyRing({
    store,
    sealKey,
    algorithm,
    clock,
    retireGraceMs: RETIRE_GRACE_MS,
    publishDelayMs: PUBLISH_DELAY_MS,
    logger,
  });
}

/** Fault injection: holds every `create` until `count` of them have arrived, then lets all through. */
export function createsMeetFirst(store: SigningKeyStore, count: number): SigningKeyStore {
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

/** A promise that fault injections await (`opened`) until the test lets them go (`open`). */
export function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}
