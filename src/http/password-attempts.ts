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
 * and hundreds can queue for the hasher): past the allowance, one at a time. Resolves to the
 * seconds to wait, having counted nothing, or to the attempt. A wrong password needs nothing more:
 * it was counted. The address is counted only with `countAddress` (else only its wait applies).
 */
export async function beginPasswordAttempt(
  { limiters, clock }: Pick<ResolvedOptions, 'limiters' | 'clock'>,
  keys: { account: string; address: string },
  { countAddress }: { countAddress: boolean },
): Promise<number | PasswordAttempt> {
  const now = clock.now();
  const [accountWait, addressWait] = await Promise.all([
    limiters.account.take(keys.account, now),
    countAddress ? limiters.address.take(keys.address, now) : limiters.address.retryAfter(keys.address, now),
  ]);
  const refundAccount = () => limiters.account.refund(keys.account, clock.now());
  const refundAddress = () => (countAddress ? limiters.address.refund(keys.address, clock.now()) : Promise.resolve());
  if (accountWait > 0 || addressWait > 0) {
    // The key that let it through counted it: it never ran.
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
