import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createAuth } from '../../src/create-auth.js';
import type { RequestFacts } from '../../src/http/authenticate.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { createRedisRevocationFeed } from '../../src/stores/redis/index.js';
import { redisUrl, requireService } from '../helpers/services.js';
import { deleteKeysUnder, probeRedis, uniquePrefix } from '../store/redis-helpers.js';

// The feed as an Express app wires it (from `coatcheck/stores/redis`), outside `coatcheck serve`.
const available = await requireService('redis', probeRedis);
const prefix = uniquePrefix();

describe.runIf(available)('createRedisRevocationFeed, from the Redis stores entry point', () => {
  afterAll(async () => {
    const admin = new Redis(redisUrl());
    await deleteKeysUnder(admin, prefix);
    admin.disconnect();
  });

  it("carries a logout on one app instance to another's strict routes, with no store read there", async () => {
    // Two instances of one app: one shared store (as a shared database would be), a feed each.
    const store = createMemoryStore();
    const open = () =>
      createAuth({
        store,
        origin: 'http://localhost:3000',
        logger: silentLogger,
        purgeInterval: 0,
        tokens: { secret: 'a test secret of at least thirty-two bytes' },
        revocation: { feed: createRedisRevocationFeed({ url: redisUrl(), keyPrefix: `${prefix}:` }) },
      });
    const [a, b] = [open(), open()];
    try {
      await Promise.all([a.ready(), b.ready()]);
      const user = await a.accounts.register({ email: 'feed@example.com', password: 'a long passphrase' });
      const { session } = await a.sessions.create(user, {});
      const { token } = a.tokens!.access.issue({ userId: user.id, sessionId: session.id, role: user.role });
      const request: RequestFacts = {
        method: 'GET',
        header: (name) => (name === 'authorization' ? `Bearer ${token}` : null),
      };
      expect(await b.authenticate(request, { strict: true })).toMatchObject({ ok: true });

      expect(await a.sessions.revoke(user.id, session.id)).toBe(true);
      let outcome = await b.authenticate(request, { strict: true });
      for (let waited = 0; outcome.ok && waited < 2_000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        outcome = await b.authenticate(request, { strict: true });
      }
      expect(outcome).toMatchObject({ ok: false, code: 'invalid_token' });
      // Non-strict routes keep trusting the signature until the token expires: the documented trade.
      expect(await b.authenticate(request)).toMatchObject({ ok: true });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
