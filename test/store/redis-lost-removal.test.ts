import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisStores } from '../../src/stores/redis/index.js';
import { createRedisStores } from '../../src/stores/redis/index.js';
import { deleteUserSessionsScript, removeSessionScript } from '../../src/stores/redis/session-scripts.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { redisUrl, requireService } from '../helpers/services.js';
import { makeSession, makeUser, T0 } from './fixtures.js';
import { keysUnder, openRedisFixture, probeRedis, type RedisFixture } from './redis-helpers.js';

const available = await requireService('redis', probeRedis);

// A removal whose script ran but whose reply was lost to a connection reset: ioredis sends the
// script again, and that second run found nothing left. The store then reported nothing removed
// (delete: false, deleteByUser: []), so no revocation was broadcast: every instance kept
// accepting the removed sessions' access tokens on strict routes until they expired.
describe.runIf(available)('redis sessions: a removal whose reply is lost', () => {
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
    // Each script once, so the server has it and the store sends it by SHA: the SHA is the one
    // marker only that script's command carries.
    await fixture.store.sessions.delete('ses_none');
    await fixture.store.sessions.deleteByUser('usr_none');
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.close();
    await fixture?.cleanup();
    await admin?.quit();
  });

  async function userWithSessions(count: number) {
    const user = makeUser();
    await fixture.store.users.create(user);
    const sessions = Array.from({ length: count }, () => makeSession(user.id));
    for (const session of sessions) await fixture.store.sessions.create(session);
    return { user, sessions };
  }

  it('delete: reported as deleted, once', async () => {
    const { sessions } = await userWithSessions(1);
    const [session] = sessions;
    proxy.loseReplyTo(removeSessionScript.sha, { reset: true });

    expect(await proxied.sessions.delete(session!.id)).toBe(true);
    expect(await fixture.store.sessions.findById(session!.id)).toBeNull();
    // A later call is a new removal: nothing left to remove.
    expect(await proxied.sessions.delete(session!.id)).toBe(false);
  });

  it('deleteByUser: reports every session it removed, once', async () => {
    const { user, sessions } = await userWithSessions(3);
    const [kept, ...others] = sessions;
    proxy.loseReplyTo(deleteUserSessionsScript.sha, { reset: true });

    const removed = await proxied.sessions.deleteByUser(user.id, { exceptId: kept!.id });

    expect(removed.sort()).toEqual(others.map((session) => session.id).sort());
    expect(await fixture.store.sessions.listByUser(user.id)).toEqual([kept]);
    expect(await proxied.sessions.deleteByUser(user.id, { exceptId: kept!.id })).toEqual([]);
    // Its index keys went too, and what is remembered is one short-lived key per call.
    for (const session of others) expect(await admin.exists(`${fixture.prefix}:sid:${session.id}`)).toBe(0);
    const memos = (await keysUnder(admin, fixture.prefix)).filter((key) => key.includes(':done:'));
    for (const key of memos) expect(await admin.pttl(key)).toBeLessThanOrEqual(60_000);
  });
});
