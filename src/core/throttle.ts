/**
 * Counts failures per key (an account, a client address) and answers how long the next attempt
 * must wait. Delays grow exponentially after a free allowance and are capped, so an attacker can
 * slow a victim's login down but never lock the account permanently.
 *
 * The interface is async so that a shared (Redis) implementation can replace the in-memory one.
 */
export interface AttemptLimiter {
  /** Seconds the caller must wait before trying `key` again; 0 when it may try now. */
  retryAfter(key: string, now: number): Promise<number>;
  /**
   * Records one attempt against `key` unless it must wait: resolves to 0 when recorded, else to
   * the seconds to wait (and records nothing). One step, so that requests arriving together cannot
   * all pass the check before any of them is counted (a password check takes long enough for
   * hundreds to arrive).
   */
  take(key: string, now: number): Promise<number>;
  /**
   * Takes back one attempt that `take` recorded and that turned out not to count against `key`
   * (a login that succeeded, for its address; a store that failed before the password was checked).
   */
  refund(key: string, now: number): Promise<void>;
  /** Forgets `key` (after a successful login). */
  reset(key: string): Promise<void>;
}

/** The methods coatcheck calls on a limiter, for checking one passed in. */
export const ATTEMPT_LIMITER_METHODS = ['retryAfter', 'take', 'refund', 'reset'] as const;

export interface BackoffPolicy {
  /** Attempts allowed before any delay. */
  freeAttempts: number;
  /** Delay after the first attempt over the allowance; doubles with each further attempt. */
  baseDelaySeconds: number;
  /** The cap: no delay is ever longer. */
  maxDelaySeconds: number;
  /** A key with no attempt for this long starts again from zero. */
  forgetAfterSeconds: number;
}

interface Entry {
  count: number;
  lastAt: number;
  blockedUntil: number;
}

/** In-process limiter with a bounded number of keys (oldest forgotten first). */
/** The in-process limiter, which can also record an attempt outright (for seeding and tests). */
export interface MemoryLimiter extends AttemptLimiter {
  /** Records one attempt against `key`, whether or not it would have had to wait. */
  hit(key: string, now: number): Promise<void>;
}

export function createMemoryLimiter(policy: BackoffPolicy, options: { maxKeys?: number } = {}): MemoryLimiter {
  const maxKeys = options.maxKeys ?? 100_000;
  const entries = new Map<string, Entry>();

  function live(key: string, now: number): Entry | undefined {
    const entry = entries.get(key);
    if (entry && now - entry.lastAt >= policy.forgetAfterSeconds * 1000) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function secondsToWait(key: string, now: number): number {
    const entry = live(key, now);
    const waitMs = entry ? entry.blockedUntil - now : 0;
    return waitMs > 0 ? Math.ceil(waitMs / 1000) : 0;
  }

  function record(key: string, now: number): void {
    const entry = live(key, now) ?? { count: 0, lastAt: now, blockedUntil: 0 };
    entry.count += 1;
    entry.lastAt = now;
    const over = entry.count - policy.freeAttempts;
    if (over > 0) {
      const delay = Math.min(policy.baseDelaySeconds * 2 ** Math.min(over - 1, 30), policy.maxDelaySeconds);
      entry.blockedUntil = now + delay * 1000;
    }
    // Re-insert so Map order is least-recently-hit first, then evict from the front.
    entries.delete(key);
    entries.set(key, entry);
    if (entries.size > maxKeys) {
      const oldest = entries.keys().next();
      if (!oldest.done) entries.delete(oldest.value);
    }
  }

  return {
    retryAfter: (key, now) => Promise.resolve(secondsToWait(key, now)),
    hit(key, now) {
      record(key, now);
      return Promise.resolve();
    },
    take(key, now) {
      const wait = secondsToWait(key, now);
      if (wait === 0) record(key, now);
      return Promise.resolve(wait);
    },
    refund(key, now) {
      const entry = live(key, now);
      if (entry) {
        entry.count -= 1;
        if (entry.count <= 0) entries.delete(key);
        // Back within the allowance, nothing justifies a wait. Past it, the wait this attempt
        // started stays (the one before it is not kept): such a key waits as if it had failed.
        else if (entry.count <= policy.freeAttempts) entry.blockedUntil = 0;
      }
      return Promise.resolve();
    },
    reset(key) {
      entries.delete(key);
      return Promise.resolve();
    },
  };
}

export const DEFAULT_ACCOUNT_POLICY: BackoffPolicy = {
  freeAttempts: 5,
  baseDelaySeconds: 2,
  maxDelaySeconds: 15 * 60,
  forgetAfterSeconds: 60 * 60,
};

export const DEFAULT_ADDRESS_POLICY: BackoffPolicy = {
  freeAttempts: 20,
  baseDelaySeconds: 2,
  maxDelaySeconds: 15 * 60,
  forgetAfterSeconds: 60 * 60,
};

/** Registrations per client address: `409 email_taken` reveals accounts, so probing is slowed. */
export const DEFAULT_REGISTRATION_POLICY: BackoffPolicy = {
  // The 10th registration starts the delay, so an address gets exactly 10 before waiting.
  freeAttempts: 9,
  baseDelaySeconds: 60,
  maxDelaySeconds: 60 * 60,
  forgetAfterSeconds: 60 * 60,
};
