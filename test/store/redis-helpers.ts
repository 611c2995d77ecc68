import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { Store } from '../../src/store/types.js';
import { composeStore } from '../../src/stores/compose.js';
import { createRedisStores, type RedisStores, type RedisStoresSettings } from '../../src/stores/redis/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { redisUrl } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import type { StoreFixture } from './conformance.js';
import { T0 } from './fixtures.js';

/** Connects to `redisUrl()` and sends PING, giving up after 2 s. */
export async function probeRedis(): Promise<void> {
  const redis = new Redis(redisUrl(), { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

let prefixes = 0;

/** A key prefix no other fixture, test file or run uses: `cc-test-<pid>-<n>`. */
export function uniquePrefix(): string {
  prefixes += 1;
  return `cc-test-${process.pid}-${prefixes}`;
}

/** Every key under the prefix, by SCAN (the test server is not a cluster, so DEL may take many). */
export async function keysUnder(admin: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}

export async function deleteKeysUnder(admin: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(admin, prefix);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
}

/** Redis Cluster's slot of a key: CRC16 (XMODEM) of its hash tag, or of the whole key, mod 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

export interface RedisFixture extends StoreFixture {
  prefix: string;
  /** The Redis half of the current store. */
  redisStores(): RedisStores;
}

/**
 * Sessions and refresh families in Redis under a fresh prefix, users and signing keys in a SQLite
 * file; `reopen` opens both again (a new Redis connection, the same prefix and file). The clock
 * stands at T0, where the fixtures' records are made, so their TTLs are what production would set.
 */
export function openRedisFixture(admin: Redis, settings: RedisStoresSettings = {}): Promise<RedisFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-redis-'));
  const path = join(dir, 'auth.db');
  const prefix = uniquePrefix();
  const clock = createManualClock(T0);
  let redisStores: RedisStores;
  const open = (): Store => {
    redisStores = createRedisStores({ url: redisUrl() }, { keyPrefix: prefix, clock, ...settings });
    return composeStore(createSqliteStore({ path }), redisStores);
  };
  let current = open();
  return Promise.resolve({
    store: current,
    prefix,
    redisStores: () => redisStores,
    async reopen() {
      await current.close();
      current = open();
      return current;
    },
    async cleanup() {
      await current.close();
      await deleteKeysUnder(admin, prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export interface ProxiedRedisStores {
  admin: Redis;
  /** Stores on Redis directly, for setting up and checking. */
  fixture: RedisFixture;
  /** Between `stores` and Redis: loses replies, cuts and freezes on cue. */
  proxy: TcpProxy;
  /** Stores on the fixture's prefix, reaching Redis through `proxy`. */
  stores: RedisStores;
}

/**
 * For the enclosing `describe`: a fixture, and Redis stores on its prefix that reach Redis through
 * a TCP proxy, so a test can lose a reply or cut the connection at a chosen command. Read the
 * returned object's fields inside tests (they are set in `beforeAll`).
 */
export function useProxiedRedisStores(settings: RedisStoresSettings = {}): ProxiedRedisStores {
  const opened = {} as ProxiedRedisStores;
  beforeAll(async () => {
    opened.admin = new Redis(redisUrl());
    opened.fixture = await openRedisFixture(opened.admin);
    const target = new URL(redisUrl());
    opened.proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    opened.stores = createRedisStores(
      { url: opened.proxy.url('redis') },
      { keyPrefix: opened.fixture.prefix, ...settings },
    );
  });
  afterAll(async () => {
    await opened.stores?.close();
    await opened.proxy?.close();
    await opened.fixture?.cleanup();
    await opened.admin?.quit();
  });
  return opened;
}
