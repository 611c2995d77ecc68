import { OverloadedError } from './errors.js';

/** Runs async tasks at most `max` at a time; the others wait their turn in arrival order. */
export interface ConcurrencyLimit {
  /**
   * Runs `task` once a slot is free and settles as it does. Rejects with `OverloadedError`, without
   * running `task`, when `maxWaiting` tasks are already waiting.
   */
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly max: number;
  /** Tasks holding a slot. */
  readonly running: number;
  /** Tasks waiting for a slot. */
  readonly waiting: number;
}

/**
 * A backstop against unbounded memory, not a latency target: at ~40 ms an argon2id hash and one
 * slot, the last of 1,000 waits ~40 s, longer than most clients will.
 */
export const DEFAULT_MAX_WAITING = 1000;

/**
 * @example
 * const limit = createConcurrencyLimit(2);
 * const hashes = await Promise.all(passwords.map((p) => limit.run(() => argon2Hash(p))));
 */
export function createConcurrencyLimit(max: number, options: { maxWaiting?: number } = {}): ConcurrencyLimit {
  const maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new TypeError('coatcheck: a concurrency limit must be a positive integer');
  }
  if (!Number.isSafeInteger(maxWaiting) || maxWaiting < 0) {
    throw new TypeError('coatcheck: maxWaiting must be a non-negative integer');
  }
  let running = 0;
  const queue: Array<() => void> = [];

  const acquire = async (): Promise<void> => {
    if (running < max) {
      running++;
      return;
    }
    if (queue.length >= maxWaiting) {
      throw new OverloadedError(`${maxWaiting} operations are already waiting for a free slot; try again later`);
    }
    await new Promise<void>((resolve) => queue.push(resolve));
  };

  const release = (): void => {
    const next = queue.shift();
    // The slot passes straight to the next in line, so a task arriving meanwhile cannot jump the queue.
    if (next) next();
    else running--;
  };

  return {
    async run(task) {
      await acquire();
      try {
        return await task();
      } finally {
        release();
      }
    },
    max,
    get running() {
      return running;
    },
    get waiting() {
      return queue.length;
    },
  };
}
