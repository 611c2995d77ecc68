import { createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { createRedisRevocationFeed } from '../../src/stores/redis/index.js';
import { redisUrl, requireService } from '../helpers/services.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { probeRedis, uniquePrefix } from '../store/redis-helpers.js';

// A Redis that accepts connections and never answers (a hung server, a wrong port forwarded
// somewhere): a publish, such as `coatcheck users set-role`'s, must fail rather than wait for ever.
it('a publish to a Redis that never answers fails with StoreUnavailableError, in bounded time', async () => {
  const sockets = new Set<Socket>();
  const blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  const { port } = blackHole.address() as { port: number };
  const feed = createRedisRevocationFeed({ url: `redis://127.0.0.1:${port}` });
  try {
    // The 2 s wait for a connection that never becomes ready, then a refusal (before that wait,
    // the 5 s command timeout for the ready check and a retry: about 12 s). Waiting for ever, as
    // before those, fails at the test's own timeout.
    const publishing = feed.publish({ sessionIds: ['ses_x'], users: [], expiresAt: Date.now() + 60_000 });
    await expect(publishing).rejects.toBeInstanceOf(StoreUnavailableError);
  } finally {
    await feed.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  }
}, 30_000);

// A dropped connection (a failover, Redis's idle `timeout`, a proxy restart) is re-established in
// about 100 ms. A publish in that window, such as a logout's, must wait for it, as the stores'
// calls do, not fail at once: a 503 for a logout that did happen.
it.runIf(await requireService('redis', probeRedis))(
  'a publish while the connection is being re-established waits for it',
  async () => {
    const target = new URL(redisUrl());
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const keyPrefix = `${uniquePrefix()}:`;
    const feed = createRedisRevocationFeed({ url: proxy.url('redis'), keyPrefix });
    const admin = new Redis(redisUrl());
    try {
      const event = (id: string) => ({ sessionIds: [id], users: [], expiresAt: Date.now() + 60_000 });
      await feed.publish(event('ses_before'));
      await proxy.cut();
      await proxy.restore();
      // The client has seen the reset and waits out its first retry delay (100 ms).
      await new Promise((resolve) => setTimeout(resolve, 30));
      await feed.publish(event('ses_after'));
      const ids = (await feed.loadActive(Date.now())).flatMap((published) => published.sessionIds);
      expect(ids.sort()).toEqual(['ses_after', 'ses_before']);
    } finally {
      await feed.close();
      await proxy.close();
      await admin.del(`${keyPrefix}coatcheck:revocation-events`);
      await admin.quit();
    }
  },
  20_000,
);
