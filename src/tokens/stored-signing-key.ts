import type { Clock } from '../core/clock.js';
import type { SigningKeyRecord, SigningKeyStore } from '../store/types.js';
import { isAlgorithm } from './jwt-algorithm.js';
import { OtherAlgorithmError } from './other-algorithm-error.js';
import { chooseSigningKey, MAX_FOLLOWED_SKEW_MS } from './signing-key-choice.js';

/**
 * The store's current key: the last one not scheduled to retire, in the store's order, unexpired
 * and of an algorithm this version knows; one dated ahead by a broken clock only when there is no
 * other (as in the ring's retirement). It is the key every ring's retirement keeps, and its
 * algorithm the one the fleet signs with. `undefined` when no key is left to sign.
 */
export function currentStoredKey(records: readonly SigningKeyRecord[], now: number): SigningKeyRecord | undefined {
  const live = records.filter(
    (key) => key.retiredAt === null && (key.expiresAt === null || key.expiresAt > now) && isAlgorithm(key.alg),
  );
  return live.filter((key) => key.createdAt <= now + MAX_FOLLOWED_SKEW_MS).at(-1) ?? live.at(-1);
}

/**
 * The kid that signs according to the stored records alone: what an instance on the current key's
 * algorithm, able to unseal every key, chooses (see `chooseSigningKey`). Whatever the secret or
 * algorithm of whoever asks, so that `coatcheck keys list` in a misconfigured shell still shows the
 * fleet's key.
 */
export function storedSigningKid(
  records: readonly SigningKeyRecord[],
  { now, publishDelayMs }: { now: number; publishDelayMs: number },
): string | undefined {
  const current = currentStoredKey(records, now);
  if (current === undefined) return undefined;
  const unexpired = records
    .filter((record) => record.expiresAt === null || record.expiresAt > now)
    .map((record) => ({ kid: record.kid, alg: record.alg, record }));
  return chooseSigningKey(unexpired, { algorithm: current.alg, now, publishDelayMs })?.kid;
}

/**
 * Rejects with `OtherAlgorithmError` when the store's current key is not of `algorithm`: a ring
 * starting there would retire the key its siblings sign with. Changing the algorithm is a rotation.
 */
export async function refuseOtherAlgorithm({
  store,
  algorithm,
  clock,
}: {
  store: Pick<SigningKeyStore, 'list'>;
  algorithm: string;
  clock: Clock;
}): Promise<void> {
  const current = currentStoredKey(await store.list(), clock.now());
  if (current !== undefined && current.alg !== algorithm) throw new OtherAlgorithmError(current.alg, algorithm);
}
