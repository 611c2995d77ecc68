import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisStores } from '../../src/stores/redis/index.js';
import { createRedisStores } from '../../src/stores/redis/index.js';
import { createFamilyScript } from '../../src/stores/redis/family-scripts.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { redisUrl, requireService } from '../helpers/services.js';
import { makeRefreshFamily, makeSession, T0 } from './fixtures.js';
import { openRedisFixture, probeRedis, type RedisFixture } from './redis-helpers.js';
import { createTokenSession } from './refresh-family-helpers.js';

const available = await requireService('redis', probeRedis);

// A create whose script ran but whose reply was lost to a connection reset: ioredis sends the
// script again, and that second run finds the record it wrote itself.
describe.runIf(available)('redis stores: a create whose reply is lost', () => {
  let admin: Redis;
  let fixture: RedisFixture;
  let proxy: TcpProxy;
  let proxied: RedisStores;

  beforeAll(async () => {
    admin = new Redis(redisUrl());
    fixture = await openRedisFixture(admin);
    const target = new URL(redisUrl());
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    proxied = createRedisStores({ url: proxy.url('redis') }, { keyPrefix: fixture.prefix, clock: { now: () => T0 } });
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.close();
    await fixture?.cleanup();
    await admin?.quit();
  });

  it('a session: reported created, and findable by id and by secret', async () => {
    const session = makeSession('usr_lost_create', { userAgent: 'lost-reply-session-create' });
    proxy.loseReplyTo('lost-reply-session-create', { reset: true });

    await proxied.sessions.create(session);

    expect(await fixture.store.sessions.findById(session.id)).toEqual(session);
    expect(await fixture.store.sessions.findBySecretHash(session.secretHash!)).toEqual(session);
  });

  it('a refresh family: reported created, and findable by id and by token hash', async () => {
    // One family first, so the server has the script and the store sends it by SHA: the SHA is
    // the one marker only the script's command carries (the index claims name the id and hash).
    await fixture.store.refreshFamilies.create(makeRefreshFamily(await createTokenSession(fixture.store)));
    const family = makeRefreshFamily(await createTokenSession(fixture.store));
    proxy.loseReplyTo(createFamilyScript.sha, { reset: true });

    await proxied.refreshFamilies.create(family);

    expect(await fixture.store.refreshFamilies.findById(family.id)).toEqual(family);
    expect(await fixture.store.refreshFamilies.findByTokenHash(family.currentHash)).toEqual(family);
  });
});
