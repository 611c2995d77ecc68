import { beforeAll, describe, expect, it } from 'vitest';
import { deleteUserSessionsScript, removeSessionScript } from '../../src/stores/redis/session-scripts.js';
import { requireService } from '../helpers/services.js';
import { makeSession, makeUser, T0 } from './fixtures.js';
import { keysUnder, probeRedis, useProxiedRedisStores } from './redis-helpers.js';

const available = await requireService('redis', probeRedis);

// A removal whose script ran but whose reply was lost to a connection reset: ioredis sends the
// script again, and that second run found nothing left. The store then reported nothing removed
// (delete: false, deleteByUser: []), so no revocation was broadcast: every instance kept
// accepting the removed sessions' access tokens on strict routes until they expired.
describe.runIf(available)('redis sessions: a removal whose reply is lost', () => {
  const opened = useProxiedRedisStores({ clock: { now: () => T0 } });
  beforeAll(async () => {
    // Each script once, so the server has it and the store sends it by SHA: the SHA is the one
    // marker only that script's command carries.
    await opened.fixture.store.sessions.delete('ses_none');
    await opened.fixture.store.sessions.deleteByUser('usr_none');
  });

  async function userWithSessions(count: number) {
    const user = makeUser();
    await opened.fixture.store.users.create(user);
    const sessions = Array.from({ length: count }, () => makeSession(user.id));
    for (const session of sessions) await opened.fixture.store.sessions.create(session);
    return { user, sessions };
  }

  it('delete: reported as deleted, once', async () => {
    const { sessions } = await userWithSessions(1);
    const [session] = sessions;
    opened.proxy.loseReplyTo(removeSessionScript.sha, { reset: true });

    expect(await opened.stores.sessions.delete(session!.id)).toBe(true);
    expect(await opened.fixture.store.sessions.findById(session!.id)).toBeNull();
    // A later call is a new removal: nothing left to remove.
    expect(await opened.stores.sessions.delete(session!.id)).toBe(false);
  });

  it('deleteByUser: reports every session it removed, once', async () => {
    const { user, sessions } = await userWithSessions(3);
    const [kept, ...others] = sessions;
    opened.proxy.loseReplyTo(deleteUserSessionsScript.sha, { reset: true });

    const removed = await opened.stores.sessions.deleteByUser(user.id, { exceptId: kept!.id });

    expect(removed.sort()).toEqual(others.map((session) => session.id).sort());
    expect(await opened.fixture.store.sessions.listByUser(user.id)).toEqual([kept]);
    expect(await opened.stores.sessions.deleteByUser(user.id, { exceptId: kept!.id })).toEqual([]);
    // Its index keys went too, and what is remembered is one short-lived key per call.
    for (const session of others)
      expect(await opened.admin.exists(`${opened.fixture.prefix}:sid:${session.id}`)).toBe(0);
    const memos = (await keysUnder(opened.admin, opened.fixture.prefix)).filter((key) => key.includes(':done:'));
    for (const key of memos) expect(await opened.admin.pttl(key)).toBeLessThanOrEqual(60_000);
  });
});
