import { createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { createRedisRevocationFeed } from '../../src/stores/redis/index.js';

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
    // The 5 s command timeout, for the ready check and a retry: about 12 s here. Waiting for ever,
    // as before, fails at the test's own timeout.
    const publishing = feed.publish({ sessionIds: ['ses_x'], users: [], expiresAt: Date.now() + 60_000 });
    await expect(publishing).rejects.toBeInstanceOf(StoreUnavailableError);
  } finally {
    await feed.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  }
}, 30_000);
