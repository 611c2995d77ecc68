import type { Clock } from '../core/clock.js';
import type { AuthLogger } from '../core/logger.js';
import type { RevocationEvent, RevocationFeed } from './types.js';

export type RevocationStatus = 'valid' | 'revoked' | 'unknown';

export interface RevocationListOptions {
  feed: RevocationFeed;
  clock: Clock;
  logger: AuthLogger;
  /**
   * While the subscription is down, revocations may be missed. `fail-closed` (default) answers
   * `unknown` for every token, which strict routes turn into 503; `allow` trusts the list as it was.
   */
  whileDisconnected?: 'fail-closed' | 'allow';
}

/**
 * The in-memory set of revoked sessions that lets strict routes refuse a revoked access token with
 * no network round trip: filled from the store at start, kept current by the feed, resynchronised
 * after every reconnect, each entry kept only as long as a token it affects can live.
 */
export class RevocationList {
  readonly #options: RevocationListOptions;
  readonly #sessions = new Map<string, number>();
  readonly #users = new Map<string, { notBefore: number; role: string | undefined; expiresAt: number }>();
  #live = false;
  #subscribed = false;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #redeliveries = new Set<NodeJS.Timeout>();
  #pruneTimer: NodeJS.Timeout | undefined;

  constructor(options: RevocationListOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    if (!this.#subscribed) {
      await this.#subscribe();
      this.#subscribed = true;
    }
    await this.#resync();
    this.#pruneTimer ??= setInterval(() => this.#prune(), 30_000);
    this.#pruneTimer.unref();
  }

  async #subscribe(): Promise<void> {
    await this.#options.feed.subscribe({
      onEvent: (event) => this.#apply(event),
      onConnected: () => this.#resyncUntilLive(0),
      onDisconnected: () => {
        if (this.#live)
          this.#options.logger.warn({ event: 'revocations.disconnected' }, 'revocation feed disconnected');
        this.#live = false;
      },
    });
  }

  /**
   * After a reconnect the store may still be coming back (the subscription can return first): keep
   * retrying, with capped back-off, until the list is live again. Until then strict routes stay closed.
   */
  #resyncUntilLive(attempt: number): void {
    if (this.#closed) return;
    this.#resync().catch(() => {
      if (attempt === 0) {
        this.#options.logger.warn(
          { event: 'revocations.resync_failed' },
          'revocation resync failed; retrying, staying closed',
        );
      }
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => this.#resyncUntilLive(attempt + 1), Math.min(100 * 2 ** attempt, 2000));
      this.#retryTimer.unref();
    });
  }

  async #resync(): Promise<void> {
    const events = await this.#options.feed.loadActive(this.#options.clock.now());
    for (const event of events) this.#apply(event);
    this.#live = true;
    this.#options.logger.info(
      { event: 'revocations.synced', count: this.#sessions.size },
      'revocation list synchronised',
    );
  }

  #apply(event: RevocationEvent): void {
    for (const id of event.sessionIds) {
      this.#sessions.set(id, Math.max(this.#sessions.get(id) ?? 0, event.expiresAt));
    }
    for (const { userId, notBefore, role } of event.users) {
      const known = this.#users.get(userId);
      const changedTo = typeof role === 'string' ? role : undefined;
      if (!known || known.notBefore < notBefore) {
        this.#users.set(userId, { notBefore, role: changedTo, expiresAt: event.expiresAt });
      } else if (known.notBefore === notBefore && known.role !== changedTo) {
        // Two different changes in one second (heard in either order): no role tells that
        // second's tokens apart, so none of them passes. The same event heard twice changes nothing.
        this.#users.set(userId, {
          notBefore,
          role: undefined,
          expiresAt: Math.max(known.expiresAt, event.expiresAt),
        });
      }
    }
  }

  #prune(): void {
    const now = this.#options.clock.now();
    for (const [id, expiresAt] of this.#sessions) if (expiresAt <= now) this.#sessions.delete(id);
    for (const [id, entry] of this.#users) if (entry.expiresAt <= now) this.#users.delete(id);
  }

  /**
   * Whether an access token for `sessionId` and `userId`, issued at `issuedAt` (Unix ms, whole
   * seconds) with the role claim `role`, may pass. A token of a role change's own second passes only
   * with the role that change made.
   */
  check(sessionId: string, userId: string, issuedAt: number, role: string): RevocationStatus {
    if (!this.#live && this.#options.whileDisconnected !== 'allow') return 'unknown';
    if (this.#sessions.has(sessionId)) return 'revoked';
    const user = this.#users.get(userId);
    if (user === undefined || issuedAt > user.notBefore) return 'valid';
    return issuedAt === user.notBefore && user.role !== undefined && role === user.role ? 'valid' : 'revoked';
  }

  /**
   * Records locally at once (this instance never waits for its own broadcast), then publishes. A
   * failed publish still rejects, but is also retried in the background until it goes out or the
   * event no longer matters: the session is already gone from the store, so a client that retries
   * its logout gets a 204 that publishes nothing, and the other instances would otherwise accept
   * the revoked session's access tokens on strict routes until they expire.
   */
  async publish(event: RevocationEvent): Promise<void> {
    this.#apply(event);
    try {
      await this.#options.feed.publish(event);
    } catch (error) {
      this.#options.logger.warn(
        { event: 'revocations.publish_failed' },
        'publishing a revocation failed; retrying in the background',
      );
      this.#redeliver(event, 0);
      throw error;
    }
  }

  #redeliver(event: RevocationEvent, attempt: number): void {
    if (this.#closed) return;
    const timer = setTimeout(
      () => {
        this.#redeliveries.delete(timer);
        if (this.#closed) return;
        if (event.expiresAt <= this.#options.clock.now()) {
          this.#options.logger.warn(
            { event: 'revocations.publish_abandoned' },
            'a revocation was never published; every token it concerned has expired',
          );
          return;
        }
        this.#options.feed.publish(event).then(
          () =>
            this.#options.logger.info({ event: 'revocations.published_late' }, 'a delayed revocation was published'),
          () => this.#redeliver(event, attempt + 1),
        );
      },
      Math.min(100 * 2 ** attempt, 2000),
    );
    timer.unref();
    this.#redeliveries.add(timer);
  }

  get live(): boolean {
    return this.#live;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const timer of this.#redeliveries) clearTimeout(timer);
    if (this.#pruneTimer) clearInterval(this.#pruneTimer);
    await this.#options.feed.close();
  }
}
