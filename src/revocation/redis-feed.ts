import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../core/errors.js';
import { createReadyWait } from '../stores/redis/connection.js';
import { heartbeatInterval, startHeartbeat } from './heartbeat.js';
import type { RevocationEvent, RevocationFeed, RevocationFeedHandlers } from './types.js';

const CHANNEL = 'coatcheck:revocations';
const EVENTS = 'coatcheck:revocation-events';

function parse(message: string): RevocationEvent | null {
  try {
    const value = JSON.parse(message) as RevocationEvent;
    return Array.isArray(value.sessionIds) && Array.isArray(value.users) && typeof value.expiresAt === 'number'
      ? value
      : null;
  } catch {
    return null;
  }
}

const COMMAND_TIMEOUT_MS = 5_000;

/**
 * Redis pub/sub for revocations. Events are also kept in a sorted set scored by expiry, so a
 * starting or reconnecting instance catches up with what it missed.
 */
export function createRedisRevocationFeed(options: {
  url: string;
  keyPrefix?: string;
  /** How often the subscription is pinged; unanswered this long, it is dropped and reopened. Default 5000. */
  heartbeatMs?: number;
}): RevocationFeed {
  const prefix = options.keyPrefix ?? '';
  const heartbeatMs = heartbeatInterval(options.heartbeatMs);
  let heartbeat: { stop: () => void } | undefined;
  const common = {
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2000),
  };
  // A command timeout as the stores have: a Redis that accepts connections and never answers
  // must fail a publish (a 503, a CLI that says so), not leave it waiting for ever.
  const commands = new Redis(options.url, { ...common, lazyConnect: true, commandTimeout: COMMAND_TIMEOUT_MS });
  // A subscriber connection must queue its SUBSCRIBE until connected, and re-subscribes by itself.
  const subscriber = new Redis(options.url, {
    ...common,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    lazyConnect: true,
  });
  // Without an offline queue, a command sent while the connection is being (re)established fails
  // although Redis is fine: a publish first waits for the attempt in progress, as the stores do.
  const commandsReady = createReadyWait(commands);
  commands.on('error', () => undefined);
  subscriber.on('error', () => undefined);

  const unavailable = (error: unknown): never => {
    throw new StoreUnavailableError('The revocation feed is unavailable', { cause: error });
  };

  return {
    async publish(event) {
      const message = JSON.stringify(event);
      try {
        await commandsReady();
        await commands
          .multi()
          .zadd(`${prefix}${EVENTS}`, event.expiresAt, message)
          .zremrangebyscore(`${prefix}${EVENTS}`, '-inf', Date.now() - 60_000)
          .publish(`${prefix}${CHANNEL}`, message)
          .exec();
      } catch (error) {
        unavailable(error);
      }
    },
    async loadActive(now) {
      try {
        await commandsReady();
        const messages = await commands.zrangebyscore(`${prefix}${EVENTS}`, now, '+inf');
        return messages.map(parse).filter((event): event is RevocationEvent => event !== null);
      } catch (error) {
        return unavailable(error);
      }
    },
    async subscribe(handlers: RevocationFeedHandlers) {
      subscriber.on('message', (channel: string, message: string) => {
        if (channel !== `${prefix}${CHANNEL}`) return;
        const event = parse(message);
        if (event) handlers.onEvent(event);
      });
      let subscribed = false;
      subscriber.on('ready', () => {
        // ioredis re-subscribes on reconnect; 'ready' after that is the moment to catch up.
        if (subscribed) handlers.onConnected();
      });
      subscriber.on('close', () => handlers.onDisconnected());
      try {
        await subscriber.connect();
        await subscriber.subscribe(`${prefix}${CHANNEL}`);
        subscribed = true;
      } catch (error) {
        unavailable(error);
      }
      heartbeat = startHeartbeat({
        intervalMs: heartbeatMs,
        // Only a ready connection is asked: otherwise ioredis is reconnecting, and a ping would
        // wait in its offline queue. While not ready the list is already closed.
        ping: async () => (subscriber.status === 'ready' ? subscriber.ping() : undefined),
        onSilent: () => {
          // Closed at once; the 'close' that follows once the socket is gone changes nothing more.
          handlers.onDisconnected();
          subscriber.disconnect(true);
        },
      });
    },
    async close() {
      heartbeat?.stop();
      subscriber.disconnect();
      commands.disconnect();
      return Promise.resolve();
    },
  };
}
