import type { ResolvedOptions } from '../core/options.js';

/** A password attempt already counted against its keys, to settle once the password is checked. */
export interface PasswordAttempt {
  /** The password was right: the account starts again from zero, and the address gets its attempt back. */
  succeeded(): Promise<void>;
  /** The password was never judged (a store failure, a refused new password): nothing counts. */
  undone(): Promise<void>;
}

/**
 * Counts a password attempt before the password is checked, so that guesses sent together cannot
 * all pass a check that none of them has been counted in yet (a check takes tens of milliseconds,
 * and hundreds can queue for the hasher): past the allowance, one at a time. So an attempt in
 * flight counts as a failure until it ends, and more than the allowance at once (5 for an account,
 * 20 for an address) get 429 until the ones in flight have ended. Resolves to the seconds to wait,
 * having counted nothing, or to the attempt. A wrong password needs nothing more: it was counted.
 * The address is counted only with `countAddress` (else only its wait applies).
 */
export async function beginPasswordAttempt(
  { limiters, clock }: Pick<ResolvedOptions, 'limiters' | 'clock'>,
  keys: { account: string; address: string },
  { countAddress }: { countAddress: boolean },
): Promise<number | PasswordAttempt> {
  const now = clock.now();
  // Asked first, without counting: a request that must wait for one key must not count against
  // the other (past its allowance a refund leaves the wait its count started, so an address that
  // is refused could otherwise keep extending a victim account's wait without a single check).
  const waits = await Promise.all([
    limiters.account.retryAfter(keys.account, now),
    limiters.address.retryAfter(keys.address, now),
  ]);
  if (waits[0] > 0 || waits[1] > 0) return Math.max(...waits);
  const [accountWait, addressWait] = await Promise.all([
    limiters.account.take(keys.account, now),
    countAddress ? limiters.address.take(keys.address, now) : 0,
  ]);
  const refundAccount = () => limiters.account.refund(keys.account, clock.now());
  const refundAddress = () => (countAddress ? limiters.address.refund(keys.address, clock.now()) : Promise.resolve());
  if (accountWait > 0 || addressWait > 0) {
    // Counted by another request between the question and the count: whichever key let this one
    // through counted it, and it never ran.
    await Promise.all([accountWait === 0 ? refundAccount() : null, addressWait === 0 ? refundAddress() : null]);
    return Math.max(accountWait, addressWait);
  }
  return {
    succeeded: async () => {
      await Promise.all([limiters.account.reset(keys.account), refundAddress()]);
    },
    undone: async () => {
      await Promise.all([refundAccount(), refundAddress()]);
    },
  };
}
