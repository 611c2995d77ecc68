import type { SigningKeyRecord } from '../store/types.js';

/** What the choice reads of a key: a loaded key, or a stored record alone (`coatcheck keys list`). */
export interface ChoosableKey {
  kid: string;
  alg: string;
  record: Pick<SigningKeyRecord, 'createdAt' | 'retiredAt'>;
}

// A new key is dated after every stored key, so that a host whose clock runs behind another's still
// retires the current key when it rotates; a stored key dated further ahead than this came from a
// broken clock, and is not followed (but by a replacement of the secret, if it is the old secret's).
export const MAX_FOLLOWED_SKEW_MS = 5 * 60_000;

/**
 * Newest first; at equal creation times a key not yet scheduled to retire is the newer one, then
 * the greater kid, as in the store's order (whose last key the ring's retirement keeps).
 */
export function newestFirst(a: ChoosableKey, b: ChoosableKey): number {
  const byCreation = b.record.createdAt - a.record.createdAt;
  if (byCreation !== 0) return byCreation;
  const aRetiring = a.record.retiredAt !== null ? 1 : 0;
  const bRetiring = b.record.retiredAt !== null ? 1 : 0;
  return aRetiring - bRetiring || (a.kid < b.kid ? 1 : -1);
}

/** Keys of `algorithm` that have not stopped signing at `now`, newest first. */
export function signingCandidates<K extends ChoosableKey>(keys: Iterable<K>, algorithm: string, now: number): K[] {
  return [...keys]
    .filter((key) => key.alg === algorithm && (key.record.retiredAt === null || key.record.retiredAt > now))
    .sort(newestFirst);
}

/**
 * The key that signs new tokens: the newest one that has been published for `publishDelayMs`,
 * else one dated ahead by a fast clock, else the oldest one still allowed to sign; `undefined`
 * when the ring holds no key of `algorithm`.
 */
export function chooseSigningKey<K extends ChoosableKey>(
  keys: Iterable<K>,
  { algorithm, now, publishDelayMs }: { algorithm: string; now: number; publishDelayMs: number },
): K | undefined {
  const loaded = [...keys];
  const candidates = signingCandidates(loaded, algorithm, now);
  return (
    candidates.find((k) => k.record.createdAt + publishDelayMs <= now) ??
    // None published long enough. A key dated ahead of this clock (a replacement dated after the
    // old secret's keys from a fast clock) is not newly published: its date says nothing, and a
    // key made since, dated by this clock, is, so it keeps signing until that one is published.
    candidates.find((k) => k.record.createdAt > now + MAX_FOLLOWED_SKEW_MS) ??
    // Otherwise (the first minute after first start): the longest-published one.
    candidates[candidates.length - 1] ??
    // Every key retired (another instance rotated and this one has not reloaded yet): keep signing
    // with the newest rather than stop; it still verifies until its expiry.
    loaded.filter((k) => k.alg === algorithm).sort(newestFirst)[0]
  );
}
