import pg from 'pg';
import { StoreUnavailableError } from '../core/errors.js';
import { checkSchemaName } from '../stores/postgres/connection.js';
import { heartbeatInterval, startHeartbeat } from './heartbeat.js';
import type { RevocationEvent, RevocationFeed, RevocationFeedHandlers } from './types.js';

const CHANNEL = 'coatcheck_revocations';
// NOTIFY payloads are limited to 8000 bytes: large events are split.
const MAX_IDS_PER_NOTIFY = 150;
// Expired events removed per publish or catch-up: several times what one publish adds, so the table
// shrinks back to the events still active.
const PRUNE_BATCH = 500;

function parse(payload: string | undefined): RevocationEvent | null {
  if (!payload) return null;
  try {
    const value = JSON.parse(payload) as RevocationEvent;
    return Array.isArray(value.sessionIds) && Array.isArray(value.users) && typeof value.expiresAt === 'number'
      ? value
      : null;
  } catch {
    return null;
  }
}

function chunks(event: RevocationEvent): RevocationEvent[] {
  if (event.sessionIds.length <= MAX_IDS_PER_NOTIFY) return [event];
  const parts: RevocationEvent[] = [];
  for (let i = 0; i < event.sessionIds.length; i += MAX_IDS_PER_NOTIFY) {
    parts.push({
      ...event,
      sessionIds: event.sessionIds.slice(i, i + MAX_IDS_PER_NOTIFY),
      users: i === 0 ? event.users : [],
    });
  }
  return parts;
}

/**
 * Postgres LISTEN/NOTIFY for revocations, for the Postgres-only setup. Events are kept in a table
 * (written in the same transaction as the NOTIFY) so instances catch up after a start or reconnect.
 */
export function createPostgresRevocationFeed(options: {
  pool: pg.Pool;
  connectionString: string;
  /** The schema of coatcheck's tables: the store's `schema` (a plain lowercase name, else TypeError). */
  schema: string;
  /** How often the LISTEN connection is pinged; unanswered this long, it is dropped and reopened. Default 5000. */
  heartbeatMs?: number;
}): RevocationFeed {
  // Checked here too: the name is pasted into SQL, and the feed is public API on its own.
  const table = `"${checkSchemaName(options.schema)}".revocation_events`;
  const heartbeatMs = heartbeatInterval(options.heartbeatMs);
  let heartbeat: { stop: () => void } | undefined;
  let listener: pg.Client | undefined;
  // A LISTEN connection being opened (by subscribe or a reconnect), which close() must end too.
  let connecting: pg.Client | undefined;
  let pinged: pg.Client | undefined;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;

  // Events stop mattering when they expire; the minute of slack covers clocks that disagree. A
  // bounded batch, skipping rows another instance is already deleting, so cleanup never makes a
  // logout wait nor runs into the statement timeout however far behind it is.
  const prune = `DELETE FROM ${table} WHERE id IN (
      SELECT id FROM ${table} WHERE expires_at < $1 ORDER BY expires_at LIMIT ${PRUNE_BATCH} FOR UPDATE SKIP LOCKED
    )`;

  const unavailable = (error: unknown): never => {
    throw new StoreUnavailableError('The revocation feed is unavailable', { cause: error });
  };

  async function listen(handlers: RevocationFeedHandlers, attempt: number): Promise<void> {
    const client = new pg.Client({ connectionString: options.connectionString, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL) return;
      const event = parse(message.payload);
      if (event) handlers.onEvent(event);
    });
    client.on('end', () => abandon(client, handlers));
    connecting = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      // A connection that got as far as connecting would otherwise stay open, unused.
      void client.end().catch(() => undefined);
      throw error;
    } finally {
      if (connecting === client) connecting = undefined;
    }
    // Closed while this connection was being opened (close() does not wait for it): end it here,
    // or it would listen, and hold the process open, for ever.
    if (closed) {
      void client.end().catch(() => undefined);
      return;
    }
    listener = client;
    if (attempt > 0) handlers.onConnected();
  }

  /** The listener is gone (ended, or silent): strict routes close until a new one has caught up. */
  function abandon(client: pg.Client, handlers: RevocationFeedHandlers): void {
    if (listener !== client) return;
    listener = undefined;
    handlers.onDisconnected();
    // With the heartbeat's query still waiting, pg destroys the socket rather than wait on it.
    void client.end().catch(() => undefined);
    if (!closed) reconnectTimer = setTimeout(() => void reconnect(handlers, 1), 200);
  }

  async function reconnect(handlers: RevocationFeedHandlers, attempt: number): Promise<void> {
    if (closed) return;
    try {
      await listen(handlers, attempt);
    } catch {
      if (closed) return;
      reconnectTimer = setTimeout(() => void reconnect(handlers, attempt + 1), Math.min(100 * 2 ** attempt, 2000));
    }
  }

  return {
    async publish(event) {
      let client: pg.PoolClient | undefined;
      try {
        client = await options.pool.connect();
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${table} (event, expires_at) VALUES ($1, $2)`, [
          JSON.stringify(event),
          event.expiresAt,
        ]);
        for (const part of chunks(event))
          await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(part)]);
        await client.query('COMMIT');
      } catch (error) {
        await client?.query('ROLLBACK').catch(() => undefined);
        unavailable(error);
      } finally {
        client?.release();
      }
      // As the Redis feed does on every publish: without it, only a start or a reconnect removed
      // anything, and instances that ran for weeks kept every event. The event is already out, so
      // a failure here is not the publisher's.
      await options.pool.query(prune, [Date.now() - 60_000]).catch(() => undefined);
    },
    async loadActive(now) {
      await options.pool.query(prune, [now - 60_000]).catch(() => undefined);
      try {
        const { rows } = await options.pool.query<{ event: string }>(
          `SELECT event FROM ${table} WHERE expires_at >= $1`,
          [now],
        );
        return rows.map((row) => parse(row.event)).filter((event): event is RevocationEvent => event !== null);
      } catch (error) {
        return unavailable(error);
      }
    },
    async subscribe(handlers) {
      try {
        await listen(handlers, 0);
      } catch (error) {
        unavailable(error);
      }
      heartbeat = startHeartbeat({
        intervalMs: heartbeatMs,
        // Between reconnects there is nobody to ask; the reconnect loop is already at work.
        ping: async () => {
          pinged = listener;
          return pinged?.query('SELECT 1');
        },
        // The connection that failed to answer, not one that has replaced it since.
        onSilent: () => {
          if (pinged) abandon(pinged, handlers);
        },
      });
    },
    async close() {
      closed = true;
      heartbeat?.stop();
      if (reconnectTimer) clearTimeout(reconnectTimer);
      // Not waited for: through a partition, ending a connection still connecting waits out its
      // connect timeout. Should it connect after all, listen() ends it.
      void connecting?.end().catch(() => undefined);
      await listener?.end().catch(() => undefined);
    },
  };
}
