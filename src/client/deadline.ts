const DEFAULT_REFRESH_TIMEOUT_MS = 8000;

/** `refreshTimeout` checked: a positive number of milliseconds, 8 s when unset. */
export function refreshTimeoutOf(value: number | undefined): number {
  const timeout = value ?? DEFAULT_REFRESH_TIMEOUT_MS;
  if (!(timeout > 0)) throw new RangeError('refreshTimeout must be a positive number of milliseconds.');
  return timeout;
}

/** Runs `work` with a signal that aborts after `ms`, so that a request hanging past it is let go. */
export async function withinDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abandon = new AbortController();
  const deadline = setTimeout(() => abandon.abort(), ms);
  try {
    return await work(abandon.signal);
  } finally {
    clearTimeout(deadline);
  }
}
