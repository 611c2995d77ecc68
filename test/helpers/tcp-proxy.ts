import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real Postgres or Redis, to take the service away from the server
 * under test (and give it back) without stopping the shared service other suites use. A real
 * network fault, not a mock: the driver sees its connections reset and new ones refused.
 */
export interface TcpProxy {
  port: number;
  url(scheme: string, rest?: string): string;
  /** Resets every open connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again. */
  restore(): Promise<void>;
  /**
   * A silent partition: open connections stay open but nothing crosses in either direction, and
   * new ones are accepted and then hear nothing. What was sent waits, as in the network's buffers.
   */
  freeze(): void;
  /** The partition heals: everything that waited is delivered, in order, and traffic flows again. */
  thaw(): void;
  /**
   * Once: after the client sends bytes containing `marker`, the server's next reply on that
   * connection is dropped. The command ran; its client never hears so. `reset` then resets the
   * connection (the client learns at once); otherwise the connection goes silent for good (the
   * client learns only from its own timeout).
   */
  loseReplyTo(marker: string, options: { reset: boolean }): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let server: Server | undefined;
  let port = 0;
  let frozen = false;
  let replyToLose: { marker: string; reset: boolean } | undefined;

  const join = ([client, upstream]: [Socket, Socket]): void => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const part = ([client, upstream]: [Socket, Socket]): void => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const next = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => undefined);
        }
        const pair: [Socket, Socket] = [client, upstream];
        pairs.add(pair);
        if (frozen) part(pair);
        else join(pair);
        client.on('data', (chunk: Buffer) => {
          if (replyToLose === undefined || !chunk.includes(replyToLose.marker)) return;
          const { reset } = replyToLose;
          replyToLose = undefined;
          upstream.unpipe(client);
          if (!reset) return; // unpiped, the upstream is paused: nothing more reaches the client
          upstream.once('data', () => {
            client.resetAndDestroy();
            upstream.destroy();
          });
          upstream.resume();
        });
        client.on('close', () => {
          upstream.destroy();
          pairs.delete(pair);
        });
        upstream.on('close', () => client.destroy());
      });
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        port = (next.address() as { port: number }).port;
        server = next;
        resolve();
      });
    });

  await listen();
  return {
    get port() {
      return port;
    },
    url: (scheme, rest = '') => `${scheme}://127.0.0.1:${port}${rest}`,
    async cut() {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.resetAndDestroy();
      sockets.clear();
      if (closing) await new Promise((resolve) => closing.close(resolve));
    },
    restore: listen,
    freeze() {
      frozen = true;
      for (const pair of pairs) part(pair);
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) join(pair);
    },
    loseReplyTo(marker, options) {
      replyToLose = { marker, ...options };
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      if (server) await new Promise((resolve) => server!.close(resolve));
    },
  };
}
