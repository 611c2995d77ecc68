import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { generateId, generateSecret, hashSecret } from '../../src/core/random.js';
import type { Store } from '../../src/store/types.js';
import { composeStore } from '../../src/stores/compose.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { createRedisStores } from '../../src/stores/redis/index.js';
import { redisUrl, requireService } from '../helpers/services.js';
import { defineStoreConformance } from './conformance.js';
import { makeRefreshFamily, makeRotation, makeSession, makeUser, MINUTE, T0 } from './fixtures.js';
import { defineRefreshFamilyConformance } from './refresh-family-conformance.js';
import { createFamily, createRotatedFamily, expectFamilyIntact } from './refresh-family-helpers.js';
import {
  deleteKeysUnder,
  keySlot,
  keysUnder,
  openRedisFixture,
  probeRedis,
  uniquePrefix,
  type RedisFixture,
} from './redis-helpers.js';
import { defineSigningKeyConformance } from './signing-key-conformance.js';

const available = await requireService('redis', probeRedis);
const GRACE = 15 * MINUTE;

describe.runIf(available)('redis store', () => {
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(redisUrl());
  });

  afterAll(async () => {
    await admin.quit();
  });

  const open = () => openRedisFixture(admin);
  defineStoreConformance('redis + sqlite', open, {
    persistent: true,
    joinsSessionsWithUsers: false,
    readsWithoutWaiting: false,
  });
  defineRefreshFamilyConformance('redis + sqlite', open, { persistent: true });
  defineSigningKeyConformance('redis + sqlite', open, { persistent: true });

  describe('layout and expiry', () => {
    let fixture: RedisFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await openRedisFixture(admin);
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it("keeps every key of a user in one Cluster slot, under the user's hash tag", async () => {
      const ann = makeUser();
      await store.users.create(ann);
      await store.sessions.create(makeSession(ann.id));
      const { session } = await createRotatedFamily(store, { userId: ann.id });
      const bob = await createRotatedFamily(store);
      await store.sessions.touch(session.id, { lastSeenAt: T0 + 1, idleExpiresAt: T0 + 40 * MINUTE });

      const keys = await keysUnder(admin, fixture.prefix);
      const userKeys = (userId: string) => keys.filter((key) => key.startsWith(`${fixture.prefix}:{u:${userId}}:`));
      const annKeys = userKeys(ann.id);
      // Two sessions, one family with its hash list, the user's session set.
      expect(annKeys).toHaveLength(5);
      expect(new Set(annKeys.map(keySlot)).size).toBe(1);
      expect(new Set(userKeys(bob.session.userId).map(keySlot)).size).toBe(1);
      // Everything else is a one-key index entry (or the expiry schedule), never a second copy of a record.
      const others = keys.filter((key) => !key.includes('{'));
      expect(others.map((key) => key.slice(fixture.prefix.length + 1).split(':')[0]).sort()).toEqual(
        [...['sid', 'sid', 'sid'], 'sh', ...['fid', 'fid'], ...Array<string>(6).fill('rth'), 'expiry'].sort(),
      );
    });

    it('sets TTLs from the injected clock: records at their deadline, index entries at the absolute one', async () => {
      const user = makeUser();
      await store.users.create(user);
      const session = makeSession(user.id, { idleExpiresAt: T0 + 30 * MINUTE, absoluteExpiresAt: T0 + 600 * MINUTE });
      await store.sessions.create(session);
      const family = await createFamily(store, { userId: user.id, absoluteExpiresAt: T0 + 600 * MINUTE });
      const ttl = (key: string) => admin.pttl(`${fixture.prefix}:${key}`);
      const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThan(5_000);
      const tag = `{u:${user.id}}`;

      near(await ttl(`${tag}:ses:${session.id}`), 30 * MINUTE + GRACE);
      near(await ttl(`sid:${session.id}`), 600 * MINUTE + GRACE);
      near(await ttl(`sh:${session.secretHash}`), 600 * MINUTE + GRACE);
      near(await ttl(`${tag}:sessions`), 600 * MINUTE + GRACE);
      near(await ttl(`${tag}:rf:${family.sessionId}`), 30 * MINUTE + GRACE);
      near(await ttl(`${tag}:rfh:${family.sessionId}`), 30 * MINUTE + GRACE);
      near(await ttl(`fid:${family.id}`), 24 * 60 * MINUTE + GRACE);
      near(await ttl(`rth:${family.currentHash}`), 24 * 60 * MINUTE + GRACE);

      await store.sessions.touch(session.id, { lastSeenAt: T0 + MINUTE, idleExpiresAt: T0 + 90 * MINUTE });
      near(await ttl(`${tag}:ses:${session.id}`), 90 * MINUTE + GRACE);
      expect(await admin.zscore(`${fixture.prefix}:expiry`, `${user.id}:${session.id}`)).toBe(String(T0 + 90 * MINUTE));

      const next = { ...makeRotation(family.currentHash, T0 + MINUTE), idleExpiresAt: T0 + 120 * MINUTE };
      expect(await store.refreshFamilies.rotate(family.id, family.currentHash, next)).toBe(true);
      near(await ttl(`${tag}:rf:${family.sessionId}`), 120 * MINUTE + GRACE);
      near(await ttl(`rth:${next.currentHash}`), 24 * 60 * MINUTE + GRACE);
    });

    it('round-trips records exactly: nulls stay null, empty strings empty, large numbers numbers', async () => {
      const user = makeUser();
      await store.users.create(user);
      const session = makeSession(user.id, {
        userAgent: '',
        ip: null,
        createdAt: 0,
        absoluteExpiresAt: Number.MAX_SAFE_INTEGER,
        idleExpiresAt: T0 + 1,
      });
      await store.sessions.create(session);
      expect(await store.sessions.findById(session.id)).toStrictEqual(session);
      const family = makeRefreshFamily(session, { absoluteExpiresAt: Number.MAX_SAFE_INTEGER });
      await store.refreshFamilies.create(family);
      expect(await store.refreshFamilies.findById(family.id)).toStrictEqual(family);
    });

    it('stores long strings in pieces, so hashes keep the compact encoding, and reads them back whole', async () => {
      const user = makeUser();
      await store.users.create(user);
      // 300 bytes of UTF-8 in characters of 1 to 4 bytes: no piece boundary may cut a character.
      const userAgent = 'Mozilla/5.0 (Macintosh) Gecko/20100101 Firefox/146.0 ' + 'é日🔑x'.repeat(24);
      const session = makeSession(user.id, { method: 'token', secretHash: null, userAgent });
      await store.sessions.create(session);
      expect(await store.sessions.findById(session.id)).toStrictEqual(session);
      const tag = `${fixture.prefix}:{u:${user.id}}`;
      expect(await admin.object('ENCODING', `${tag}:ses:${session.id}`)).toBe('listpack');

      const family = makeRefreshFamily(session);
      await store.refreshFamilies.create(family);
      const long = { ...makeRotation(family.currentHash, T0 + MINUTE), successorSealed: 'eyJhbGciOiJkaXIi'.repeat(12) };
      expect(await store.refreshFamilies.rotate(family.id, family.currentHash, long)).toBe(true);
      expect(await store.refreshFamilies.findById(family.id)).toStrictEqual({ ...family, ...long, generation: 1 });
      expect(await admin.object('ENCODING', `${tag}:rf:${session.id}`)).toBe('listpack');
      // A shorter successor leaves no piece of the longer one behind.
      const short = makeRotation(long.currentHash, T0 + 2 * MINUTE);
      expect(await store.refreshFamilies.rotate(family.id, long.currentHash, short)).toBe(true);
      expect(await store.refreshFamilies.findById(family.id)).toStrictEqual({ ...family, ...short, generation: 2 });
      expect(await admin.hkeys(`${tag}:rf:${session.id}`)).not.toContain('ss+1');
    });
  });

  describe('when index cleanup or Redis expiry gets ahead of the records', () => {
    let fixture: RedisFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await openRedisFixture(admin);
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('finds nothing through an index entry whose record is gone or belongs elsewhere', async () => {
      const { session, family, hashes } = await createRotatedFamily(store);
      const cookie = await (async () => {
        const created = makeSession(session.userId);
        await store.sessions.create(created);
        return created;
      })();
      const p = fixture.prefix;
      // A secret index pointing at a session that does not carry that hash.
      await admin.set(`${p}:sh:forged`, `${cookie.userId}:${cookie.id}`);
      expect(await store.sessions.findBySecretHash('forged')).toBeNull();
      // As if a delete's clean-up had been lost: the records go, the index entries stay.
      await admin.del(`${p}:{u:${session.userId}}:ses:${session.id}`);
      expect(await store.sessions.findById(session.id)).toBeNull();
      expect(await store.sessions.touch(session.id, { lastSeenAt: T0, idleExpiresAt: T0 })).toBe(false);
      // The family outlived its session: the cascade still holds for every lookup.
      expect(await store.refreshFamilies.findById(family.id)).toBeNull();
      for (const hash of hashes) expect(await store.refreshFamilies.findByTokenHash(hash)).toBeNull();
      expect(await store.sessions.delete(session.id)).toBe(false);
      // ...and the delete that found the session gone took the orphaned family and its index keys.
      expect(await admin.exists(`${p}:{u:${session.userId}}:rf:${session.id}`, `${p}:rth:${hashes[0]}`)).toBe(0);
      expect(await store.sessions.findById(cookie.id)).toEqual(cookie);
    });

    it('lets Redis expire a record at deadline + grace, and deleteExpired still cleans up after it', async () => {
      const stores = createRedisStores({ url: redisUrl() }, { keyPrefix: fixture.prefix, expiryGraceMs: 0 });
      try {
        const now = Date.now();
        const session = makeSession('usr_expiring', { idleExpiresAt: now + 150, absoluteExpiresAt: now + MINUTE });
        await stores.sessions.create(session);
        const family = makeRefreshFamily(session, { idleExpiresAt: now + MINUTE, absoluteExpiresAt: now + MINUTE });
        await stores.refreshFamilies.create(family);
        expect(await stores.sessions.findById(session.id)).toEqual(session);
        await new Promise((resolve) => setTimeout(resolve, 400));
        expect(await stores.sessions.findById(session.id)).toBeNull();
        expect(await stores.refreshFamilies.findByTokenHash(family.currentHash)).toBeNull();
        // Redis removed the session, so there is nothing left to count, but the purge still takes
        // the schedule entry, the orphaned family and the index keys it can name. The secret index
        // cannot be named (its hash went with the session): it finds nothing, and its TTL, at the
        // absolute deadline, removes it.
        expect(await stores.sessions.deleteExpired(Date.now())).toBe(0);
        const left = await keysUnder(admin, fixture.prefix);
        const secretIndex = `${fixture.prefix}:sh:${session.secretHash}`;
        expect(left.filter((key) => key.includes(session.id) || key.includes(family.currentHash))).toEqual([
          secretIndex,
        ]);
        expect(await admin.pttl(secretIndex)).toBeLessThanOrEqual(MINUTE);
        expect(await stores.sessions.findBySecretHash(session.secretHash ?? '')).toBeNull();
      } finally {
        await stores.close();
      }
    });

    it('decides deleteExpired on the session, not on a stale schedule entry', async () => {
      const user = makeUser();
      await store.users.create(user);
      const session = makeSession(user.id, { idleExpiresAt: T0 + 30 * MINUTE });
      await store.sessions.create(session);
      await admin.zadd(`${fixture.prefix}:expiry`, T0 - MINUTE, `${user.id}:${session.id}`);
      await admin.zadd(`${fixture.prefix}:expiry`, T0 - MINUTE, `${user.id}:ses_never_existed`);
      expect(await store.sessions.deleteExpired(T0)).toBe(0);
      expect(await store.sessions.findById(session.id)).toEqual(session);
      expect(await admin.zrange(`${fixture.prefix}:expiry`, 0, -1, 'WITHSCORES')).toEqual([
        `${user.id}:${session.id}`,
        String(T0 + 30 * MINUTE),
      ]);
      expect(await store.sessions.deleteExpired(T0 + 30 * MINUTE)).toBe(1);
    });
  });

  describe('round trips and concurrency', () => {
    let fixture: RedisFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await openRedisFixture(admin);
      store = fixture.store;
    });

    afterEach(async () => {
      vi.restoreAllMocks();
      await fixture.cleanup();
    });

    it('lists and deletes by user with a single script call; only index clean-up follows', async () => {
      const { redis } = fixture.redisStores();
      const warm = await createRotatedFamily(store);
      await store.sessions.listByUser(warm.session.userId);
      await store.sessions.deleteByUser(warm.session.userId);
      const { session } = await createRotatedFamily(store);
      await createRotatedFamily(store, { userId: session.userId });
      await store.sessions.create(makeSession(session.userId));

      const sent = vi.spyOn(redis, 'sendCommand');
      const names = () => sent.mock.calls.map(([command]) => command.name.toLowerCase());
      expect(await store.sessions.listByUser(session.userId)).toHaveLength(3);
      expect(names()).toEqual(['evalsha']);

      sent.mockClear();
      expect(await store.sessions.deleteByUser(session.userId)).toHaveLength(3);
      const [first, ...cleanup] = names();
      expect(first).toBe('evalsha');
      expect(new Set(cleanup)).toEqual(new Set(['del', 'zrem']));
      expect(await store.sessions.listByUser(session.userId)).toEqual([]);
    });

    it('lets exactly one of 100 rotations win across two connections', async () => {
      const family = await createFamily(store);
      const second = createRedisStores({ url: redisUrl() }, { keyPrefix: fixture.prefix });
      try {
        const attempts = Array.from({ length: 100 }, () => makeRotation(family.currentHash, T0 + MINUTE));
        const results = await Promise.all(
          attempts.map((next, index) =>
            (index % 2 === 0 ? store.refreshFamilies : second.refreshFamilies).rotate(
              family.id,
              family.currentHash,
              next,
            ),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = attempts[results.indexOf(true)];
        await expectFamilyIntact(composeStore(createMemoryStore(), second), {
          family: { ...family, ...winner, generation: 1 },
          hashes: [family.currentHash, winner?.currentHash ?? ''],
        });
      } finally {
        await second.close();
      }
    });

    it('measures the memory of a session and its index entries (1000 sessions)', async () => {
      const { redis } = fixture.redisStores();
      const users = Array.from({ length: 100 }, () => generateId('usr'));
      const sessions = users.flatMap((userId) =>
        Array.from({ length: 10 }, (_, index) =>
          makeSession(userId, {
            id: generateId('ses'),
            secretHash: hashSecret(generateSecret()),
            createdAt: T0 + index,
            lastSeenAt: T0 + index,
            userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)',
            ip: '203.0.113.7',
          }),
        ),
      );
      for (let i = 0; i < sessions.length; i += 100) {
        await Promise.all(sessions.slice(i, i + 100).map((session) => store.sessions.create(session)));
      }
      const [sample] = sessions;
      if (sample === undefined) throw new Error('no sessions');
      const p = fixture.prefix;
      const usage = async (key: string) => Number(await redis.memory('USAGE', `${p}:${key}`, 'SAMPLES', '0'));
      const hash = await usage(`{u:${sample.userId}}:ses:${sample.id}`);
      const idIndex = await usage(`sid:${sample.id}`);
      const secretIndex = await usage(`sh:${sample.secretHash}`);
      const userSet = (await usage(`{u:${sample.userId}}:sessions`)) / 10;
      const schedule = (await usage('expiry')) / sessions.length;
      const total = Math.round(hash + idIndex + secretIndex + userSet + schedule);
      console.log(
        `REDIS MEMORY PER SESSION (1000 sessions, cookie mode): ${total} bytes = session hash ${hash} + ` +
          `id index ${idIndex} + secret index ${secretIndex} + share of user set ${userSet.toFixed(1)} + ` +
          `share of expiry schedule ${schedule.toFixed(1)}`,
      );

      const family = makeRefreshFamily(sample, { id: generateId('rfm'), currentHash: hashSecret(generateSecret()) });
      await store.refreshFamilies.create(family);
      const familyBytes = await usage(`{u:${sample.userId}}:rf:${sample.id}`);
      const hashList = await usage(`{u:${sample.userId}}:rfh:${sample.id}`);
      const familyIndex = await usage(`fid:${family.id}`);
      const tokenIndex = await usage(`rth:${family.currentHash}`);
      console.log(
        `REDIS MEMORY PER REFRESH FAMILY (token mode, generation 0): ${familyBytes + hashList + familyIndex + tokenIndex} ` +
          `bytes = family hash ${familyBytes} + hash list ${hashList} + family index ${familyIndex} + token index ${tokenIndex}`,
      );
      // A rotation adds the sealed successor (a compact JWE, ~150 bytes), one hash and one index key.
      const next = {
        ...makeRotation(family.currentHash, T0 + MINUTE),
        currentHash: hashSecret(generateSecret()),
        successorSealed: `eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..${generateSecret().slice(0, 16)}.${generateSecret()}${generateSecret().slice(0, 15)}.${generateSecret().slice(0, 22)}`,
      };
      await store.refreshFamilies.rotate(family.id, family.currentHash, next);
      console.log(
        `REDIS MEMORY PER REFRESH FAMILY (after 1 rotation): family hash ${await usage(`{u:${sample.userId}}:rf:${sample.id}`)} ` +
          `+ hash list ${await usage(`{u:${sample.userId}}:rfh:${sample.id}`)} + family index ${familyIndex} ` +
          `+ 2 token indexes ${tokenIndex + (await usage(`rth:${next.currentHash}`))} bytes`,
      );
      expect(hash).toBeGreaterThan(0);
    });
  });

  describe('failures', () => {
    it('rejects with StoreUnavailableError, quickly and without keys, when Redis cannot be reached', async () => {
      const stores = createRedisStores({ url: 'redis://127.0.0.1:1' }, { keyPrefix: 'cc-unreachable' });
      try {
        const started = Date.now();
        const failure: unknown = await stores.sessions.findById('ses_secretive').catch((error: unknown) => error);
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(failure).toBeInstanceOf(StoreUnavailableError);
        const { message, cause } = failure as StoreUnavailableError;
        expect(cause).toBeInstanceOf(Error);
        expect(message).not.toMatch(/ses_secretive|sid|get|cc-unreachable/i);
        await expect(stores.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(stores.refreshFamilies.rotate('rfm_x', 'h', makeRotation('h', T0))).rejects.toBeInstanceOf(
          StoreUnavailableError,
        );
        // A composed store is down when either half is.
        const composed = composeStore(createMemoryStore(), stores);
        await expect(composed.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      } finally {
        await stores.close();
      }
    });

    it('recovers by itself after its connection is killed', async () => {
      const fixture = await openRedisFixture(admin);
      try {
        const { store } = fixture;
        const { redis } = fixture.redisStores();
        const user = makeUser();
        await store.users.create(user);
        const session = makeSession(user.id);
        await store.sessions.create(session);
        const clientId = await redis.client('ID');
        expect(await admin.client('KILL', 'ID', String(clientId))).toBe(1);

        const deadline = Date.now() + 5_000;
        let found: unknown;
        for (;;) {
          found = await store.sessions.findById(session.id).catch((error: unknown) => error);
          if (!(found instanceof Error) || Date.now() > deadline) break;
          expect(found).toBeInstanceOf(StoreUnavailableError);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(found).toEqual(session);
        expect(await redis.client('ID')).not.toBe(clientId);
      } finally {
        await fixture.cleanup();
      }
    });

    it("uses a caller's client as it is, and leaves it open on close", async () => {
      const client = new Redis(redisUrl(), { lazyConnect: true });
      const prefix = uniquePrefix();
      try {
        const stores = createRedisStores({ redis: client }, { keyPrefix: prefix, clock: { now: () => T0 } });
        expect(stores.redis).toBe(client);
        const session = makeSession('usr_caller');
        await stores.sessions.create(session);
        await stores.close();
        await expect(stores.sessions.findById(session.id)).rejects.toBeInstanceOf(StoreUnavailableError);
        expect(await client.exists(`${prefix}:sid:${session.id}`)).toBe(1);
      } finally {
        await deleteKeysUnder(admin, prefix);
        await client.quit();
      }
    });

    it("fails as quickly with a caller's client that has ioredis's defaults (an offline queue) when Redis is down", async () => {
      // Offline queue on, 20 retries per command: each command would wait out about 10 s of
      // reconnect attempts before failing, and every request with it.
      const client = new Redis('redis://127.0.0.1:1', { lazyConnect: true });
      client.on('error', () => undefined);
      const stores = createRedisStores({ redis: client }, { keyPrefix: 'cc-unreachable' });
      try {
        for (let attempt = 0; attempt < 2; attempt++) {
          const started = Date.now();
          await expect(stores.sessions.findById('ses_x')).rejects.toBeInstanceOf(StoreUnavailableError);
          expect(Date.now() - started).toBeLessThan(3_000);
        }
      } finally {
        await stores.close();
        client.disconnect();
      }
    }, 30_000);

    it('refuses a key prefix with braces at setup', () => {
      expect(() => createRedisStores({ url: redisUrl() }, { keyPrefix: 'cc{x}' })).toThrow(TypeError);
    });
  });
});
