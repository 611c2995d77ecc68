import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { requireService } from '../helpers/services.js';
import { MINUTE, T0, makeRotation } from './fixtures.js';
import { probeRedis, useProxiedRedisStores } from './redis-helpers.js';
import { createFamily } from './refresh-family-helpers.js';

const available = await requireService('redis', probeRedis);

// A rotation whose script ran but whose reply was lost (a connection reset, a timeout): ioredis
// sends the script again, and that second run finds the swap already done. Before, the store
// took that for a lost race and deleted the new hash's index, so the successor token the client
// was then handed (through the grace window) found nothing: a logout, and a dead device left behind.
describe.runIf(available)('redis refresh families: a rotation whose reply is lost', () => {
  const opened = useProxiedRedisStores();

  it('a reset after the script ran: the new hash stays findable, and the rotation is reported done', async () => {
    const family = await createFamily(opened.fixture.store);
    const next = makeRotation(family.currentHash, T0 + MINUTE);
    // The successor's sealed text appears only in the rotation script's arguments.
    opened.proxy.loseReplyTo(next.successorSealed, { reset: true });

    const rotated = await opened.stores.refreshFamilies.rotate(family.id, family.currentHash, next);

    // Resent after the reset, the script found its own swap: success, not a lost race.
    expect(rotated).toBe(true);
    const found = await opened.fixture.store.refreshFamilies.findByTokenHash(next.currentHash);
    expect(found).toMatchObject({ id: family.id, currentHash: next.currentHash, previousHash: family.currentHash });
  });

  it('a silence after the script ran: a store error, and the new hash stays findable for the retry', async () => {
    const family = await createFamily(opened.fixture.store);
    const next = makeRotation(family.currentHash, T0 + MINUTE);
    opened.proxy.loseReplyTo(next.successorSealed, { reset: false });

    // The client gets a 503 and presents its old token again: inside the grace window that yields
    // this very successor, which must then be usable.
    await expect(opened.stores.refreshFamilies.rotate(family.id, family.currentHash, next)).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    const found = await opened.fixture.store.refreshFamilies.findByTokenHash(next.currentHash);
    expect(found).toMatchObject({ id: family.id, currentHash: next.currentHash });
  }, 30_000);
});
