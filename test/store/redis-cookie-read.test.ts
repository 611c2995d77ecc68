import { Redis, ReplyError } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { Store } from '../../src/store/types.js';
import { createKeys } from '../../src/stores/redis/keys.js';
import { redisUrl, requireService } from '../helpers/services.js';
import { makeSession, makeUser } from './fixtures.js';
import { openRedisFixture, probeRedis, type RedisFixture } from './redis-helpers.js';

// The cookie check (`findBySecretHash`) runs on every request: one script call follows the secret
// index to the session. Redis Cluster refuses that script (the session lives in another slot), so
// the store then reads the index and the session apart, as it did before.

const available = await requireService('redis', probeRedis);

describe('redis session key parts', () => {
  it("name the same key as the session's own key name", () => {
    const keys = createKeys('cc');
    const [head, middle] = keys.sessionKeyParts;
    const ref = { userId: 'usr_a', sessionId: 'ses_b' };
    expect(`${head}${ref.userId}${middle}${ref.sessionId}`).toBe(keys.of(ref).session);
  });
});

describe.runIf(available)('redis cookie read', () => {
  let admin: Redis;
  let fixture: RedisFixture;
  let store: Store;

  beforeAll(() => {
    admin = new Redis(redisUrl());
  });

  afterAll(async () => {
    await admin.quit();
  });

  beforeEach(async () => {
    fixture = await openRedisFixture(admin);
    store = fixture.store;
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await fixture.cleanup();
  });

  async function cookieSession() {
    const user = makeUser();
    await store.users.create(user);
    const session = makeSession(user.id);
    await store.sessions.create(session);
    return session;
  }

  function commandsSent() {
    const sent = vi.spyOn(fixture.redisStores().redis, 'sendCommand');
    return () => sent.mock.calls.map(([command]) => command.name.toLowerCase());
  }

  it('finds the session by its secret hash in one round trip', async () => {
    const session = await cookieSession();
    await store.sessions.findBySecretHash('warms-the-script-cache');
    const names = commandsSent();
    expect(await store.sessions.findBySecretHash(session.secretHash ?? '')).toEqual(session);
    expect(names()).toEqual(['evalsha']);
  });

  it('finds nothing, without an error, through a missing, malformed or dangling index entry', async () => {
    const session = await cookieSession();
    const p = fixture.prefix;
    expect(await store.sessions.findBySecretHash('never-issued')).toBeNull();
    const entries: [hash: string, value: string][] = [
      ['no-separator', 'usr_x'],
      ['empty-user', ':ses_x'],
      ['empty-session', 'usr_x:'],
      ['no-such-session', `${session.userId}:ses_missing`],
      ['another-users-session', `usr_other:${session.id}`],
    ];
    for (const [hash, value] of entries) {
      await admin.set(`${p}:sh:${hash}`, value);
      expect(await store.sessions.findBySecretHash(hash)).toBeNull();
    }
    // An entry naming a real session that does not carry this hash (a stale or forged entry).
    await admin.set(`${p}:sh:forged`, `${session.userId}:${session.id}`);
    expect(await store.sessions.findBySecretHash('forged')).toBeNull();
    expect(await store.sessions.findBySecretHash(session.secretHash ?? '')).toEqual(session);
  });

  it('splits the index entry at its last colon, so a user id may contain colons (script and fallback)', async () => {
    const session = makeSession('org:1:usr_a');
    await store.sessions.create(session);
    expect(await store.sessions.findBySecretHash(session.secretHash ?? '')).toEqual(session);
    const { redis } = fixture.redisStores();
    vi.spyOn(redis, 'evalsha').mockRejectedValueOnce(new ReplyError('CROSSSLOT Keys do not hash to the same slot'));
    expect(await store.sessions.findBySecretHash(session.secretHash ?? '')).toEqual(session);
  });

  it('reports a key of the wrong type as the store being unavailable, and keeps the one-trip read', async () => {
    const p = fixture.prefix;
    await admin.hset(`${p}:sh:index-is-a-hash`, 'a', 'b');
    await admin.set(`${p}:sh:session-is-a-string`, 'usr_w:ses_w');
    await admin.set(`${p}:{u:usr_w}:ses:ses_w`, 'not a hash');
    for (const hash of ['index-is-a-hash', 'session-is-a-string']) {
      await expect(store.sessions.findBySecretHash(hash)).rejects.toBeInstanceOf(StoreUnavailableError);
    }
    const session = await cookieSession();
    const names = commandsSent();
    expect(await store.sessions.findBySecretHash(session.secretHash ?? '')).toEqual(session);
    expect(names()).toEqual(['evalsha']);
  });

  it("reports a reply that is not the script's as the store being unavailable, never as no session", async () => {
    const session = await cookieSession();
    const { redis } = fixture.redisStores();
    // Only a misbehaving server or proxy answers so; a real Redis cannot be made to.
    for (const reply of ['OK', [], ['usr_a:ses_b'], [1, []]]) {
      vi.spyOn(redis, 'evalsha').mockResolvedValueOnce(reply);
      await expect(store.sessions.findBySecretHash(session.secretHash ?? '')).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    }
  });

  // The refusals of Redis 7 Cluster, Redis 6 Cluster, a cluster proxy and a server that wants
  // every key declared. This server is not a cluster, so the refusal is injected.
  it.each([
    'ERR Script attempted to access keys that do not hash to the same slot',
    'ERR Error running script (call to f_0): @user_script:5: Lua script attempted to access a non local key in a cluster node',
    "CROSSSLOT Keys in request don't hash to the same slot",
    'ERR Error running script (call to f_0): @user_script:5: script tried accessing undeclared key',
  ])('falls back to two reads, for good, when Redis refuses the script: %s', async (message) => {
    const session = await cookieSession();
    const { redis } = fixture.redisStores();
    const evalsha = vi.spyOn(redis, 'evalsha').mockRejectedValueOnce(new ReplyError(message));
    expect(await store.sessions.findBySecretHash(session.secretHash ?? '')).toEqual(session);
    expect(evalsha).toHaveBeenCalledTimes(1);

    const names = commandsSent();
    expect(await store.sessions.findBySecretHash(session.secretHash ?? '')).toEqual(session);
    expect(names()).toEqual(['get', 'hgetall']);
    expect(evalsha).toHaveBeenCalledTimes(1);
  });

  it('reports any other script failure as the store being unavailable, and keeps the one-trip read', async () => {
    const session = await cookieSession();
    const { redis } = fixture.redisStores();
    vi.spyOn(redis, 'evalsha').mockRejectedValueOnce(new ReplyError('LOADING Redis is loading the dataset in memory'));
    await expect(store.sessions.findBySecretHash(session.secretHash ?? '')).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    const names = commandsSent();
    expect(await store.sessions.findBySecretHash(session.secretHash ?? '')).toEqual(session);
    expect(names()).toEqual(['evalsha']);
  });
});
