/** How often a feed's subscription is asked to answer; one unanswered this long is silent. */
export const DEFAULT_HEARTBEAT_MS = 5_000;

/**
 * Pings a subscription connection on a timer and calls `onSilent` when a ping fails or goes
 * unanswered for `intervalMs`. A listening connection only ever receives, so without this a
 * half-open one (a partition, a hung server) looks connected for ever: the list would stay live
 * and strict routes would pass tokens revoked meanwhile. With it, such a connection is found
 * within two intervals and strict routes fail closed until the feed has reconnected and caught up.
 */
export function startHeartbeat(options: { intervalMs: number; ping: () => Promise<unknown>; onSilent: () => void }): {
  stop: () => void;
} {
  let pinging = false;
  const timer = setInterval(() => {
    if (pinging) return;
    pinging = true;
    let deadline: NodeJS.Timeout | undefined;
    const unanswered = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error('heartbeat unanswered')), options.intervalMs);
    });
    Promise.race([options.ping(), unanswered])
      .catch(() => options.onSilent())
      .finally(() => {
        clearTimeout(deadline);
        pinging = false;
      });
  }, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** A feed option's heartbeat interval, checked: a positive number of milliseconds. */
export function heartbeatInterval(value: number | undefined): number {
  const interval = value ?? DEFAULT_HEARTBEAT_MS;
  if (!(interval > 0) || !Number.isFinite(interval)) {
    throw new RangeError('heartbeatMs must be a positive number of milliseconds');
  }
  return interval;
}
