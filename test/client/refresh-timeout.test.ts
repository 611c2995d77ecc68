import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createAuthClient } from '../../src/client/index.js';

/**
 * A server whose `/auth/refresh` hangs until told otherwise: a stalled connection (a proxy that
 * accepted and went quiet) is what the client's refresh timeout is for, and a real socket shows
 * whether the client really let go of it.
 */
interface StallingServer {
  baseUrl: string;
  refreshes: number;
  /** Resolves with the response's socket being closed by the client. */
  nextRefresh: () => Promise<{ closedByClient: Promise<void> }>;
  answerRefreshes: boolean;
  close: () => Promise<void>;
}

async function startStallingServer(): Promise<StallingServer> {
  const waiting: ((value: { closedByClient: Promise<void> }) => void)[] = [];
  const stalled: ServerResponse[] = [];
  const state: StallingServer = {
    baseUrl: '',
    refreshes: 0,
    answerRefreshes: false,
    nextRefresh: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      for (const response of stalled) response.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const json = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/auth/me') {
      if (request.headers.authorization === 'Bearer fresh-token') {
        const user = { id: 'u1', email: 'a@example.com', name: null, role: 'user', createdAt: '2026-01-01T00:00:00Z' };
        json(response, 200, { user, auth: { method: 'bearer', sessionId: 's1', expiresAt: '2026-01-01T00:10:00Z' } });
      } else {
        json(response, 401, { code: 'unauthenticated', title: 'Not signed in' });
      }
      return;
    }
    if (request.url === '/auth/refresh') {
      state.refreshes += 1;
      if (state.answerRefreshes) {
        json(response, 200, { accessToken: 'fresh-token', expiresIn: 600 });
        return;
      }
      stalled.push(response);
      const closedByClient = once(request.socket, 'close').then(() => undefined);
      waiting.shift()?.({ closedByClient });
      return;
    }
    json(response, 404, { code: 'not_found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

let server: StallingServer;
beforeEach(async () => {
  server = await startStallingServer();
});
afterEach(async () => {
  vi.useRealTimers();
  await server.close();
});

it('a refresh that stalls is sent once more, then abandoned as a network_error; the next one goes out', async () => {
  const auth = createAuthClient({ baseUrl: server.baseUrl, refreshTimeout: 5000 });
  const first = server.nextRefresh();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  let outcome: unknown = 'pending';
  const restoring = auth.restore().then(
    (user) => (outcome = user),
    (error: unknown) => (outcome = error),
  );
  const { closedByClient: firstClosed } = await first;

  const second = server.nextRefresh();
  await vi.advanceTimersByTimeAsync(5000);
  const { closedByClient: secondClosed } = await second; // sent again at once, not later
  expect(outcome).toBe('pending');
  await vi.advanceTimersByTimeAsync(4999);
  expect(outcome).toBe('pending');
  await vi.advanceTimersByTimeAsync(1);
  await restoring;
  expect(outcome).toMatchObject({ name: 'AuthClientError', code: 'network_error', status: 0 });
  vi.useRealTimers();
  await Promise.all([firstClosed, secondClosed]); // the hung connections were let go, not just the promises
  expect(auth.mode).toBeNull();

  // Nothing is left holding the single flight: the next refresh is sent and completes the login.
  server.answerRefreshes = true;
  await expect(auth.restore()).resolves.toMatchObject({ id: 'u1' });
  expect(server.refreshes).toBe(3);
  expect(auth.mode).toBe('token');
  auth.close();
});

it('refuses a refreshTimeout that is not a positive number', () => {
  for (const refreshTimeout of [0, -1, Number.NaN]) {
    expect(() => createAuthClient({ baseUrl: server.baseUrl, refreshTimeout })).toThrow(RangeError);
  }
});
