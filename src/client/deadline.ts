const DEFAULT_REFRESH_TIMEOUT_MS = 8000;

/** `refreshTimeout` checked: a positive number of milliseconds, 8 s when unset. */
export function refreshTimeoutOf(value: number | undefined): number {
  const timeout = value ?? DEFAULT_REFRESH_TIMEOUT_MS;
  if (!(timeout > 0)) throw new RangeError('refreshTimeout must be a positive number of milliseconds.');
  return timeout;
}

/** What `withinDeadline` throws when the deadline passed before the work ended. */
export class DeadlinePassed extends Error {
  override readonly name = 'DeadlinePassed';
}

/**
 * Runs `work` with a signal that aborts after `ms`, so that a request hanging past it is let go;
 * rejects with `DeadlinePassed` if it was (whatever the work then threw).
 */
export async function withinDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abandon = new AbortController();
  const deadline = setTimeout(() => abandon.abort(), ms);
  try {
    return await work(abandon.signal);
  } catch (error) {
    throw abandon.signal.aborted ? new DeadlinePassed(`no answer within ${ms} ms`, { cause: error }) : error;
  } finally {
    clearTimeout(deadline);
  }
}

/**
 * `withinDeadline`, and once more at once if the deadline passed. For a refresh: the server may
 * have rotated the token while its answer was late, and asked again inside its grace window it
 * gives the same successor, where a retry any later would be reuse.
 */
export async function withinDeadlineTwice<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await withinDeadline(ms, work);
  } catch (error) {
    if (!(error instanceof DeadlinePassed)) throw error;
    return withinDeadline(ms, work);
  }
}
