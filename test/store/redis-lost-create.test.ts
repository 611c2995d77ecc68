import { describe, expect, it } from 'vitest';
import { createFamilyScript } from '../../src/stores/redis/family-scripts.js';
import { requireService } from '../helpers/services.js';
import { makeRefreshFamily, makeSession, T0 } from './fixtures.js';
import { probeRedis, useProxiedRedisStores } from './redis-helpers.js';
import { createTokenSession } from './refresh-family-helpers.js';

const available = await requireService('redis', probeRedis);

// A create whose script ran but whose reply was lost to a connection reset: ioredis sends the
// script again, and that second run finds the record it wrote itself.
describe.runIf(available)('redis stores: a create whose reply is lost', () => {
  const opened = useProxiedRedisStores({ clock: { now: () => T0 } });

  it('a session: reported created, and findable by id and by secret', async () => {
    const session = makeSession('usr_lost_create', { userAgent: 'lost-reply-session-create' });
    opened.proxy.loseReplyTo('lost-reply-session-create', { reset: true });

    await opened.stores.sessions.create(session);

    expect(await opened.fixture.store.sessions.findById(session.id)).toEqual(session);
    expect(await opened.fixture.store.sessions.findBySecretHash(session.secretHash!)).toEqual(session);
  });

  it('a refresh family: reported created, and findable by id and by token hash', async () => {
    // One family first, so the server has the script and the store sends it by SHA: the SHA is
    // the one marker only the script's command carries (the index claims name the id and hash).
    await opened.fixture.store.refreshFamilies.create(
      makeRefreshFamily(await createTokenSession(opened.fixture.store)),
    );
    const family = makeRefreshFamily(await createTokenSession(opened.fixture.store));
    opened.proxy.loseReplyTo(createFamilyScript.sha, { reset: true });

    await opened.stores.refreshFamilies.create(family);

    expect(await opened.fixture.store.refreshFamilies.findById(family.id)).toEqual(family);
    expect(await opened.fixture.store.refreshFamilies.findByTokenHash(family.currentHash)).toEqual(family);
  });
});
