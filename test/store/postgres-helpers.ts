import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { expect } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { Store } from '../../src/store/types.js';
import { createPostgresStore } from '../../src/stores/postgres/index.js';
import { postgresUrl } from '../helpers/services.js';
import type { StoreFixture } from './conformance.js';

/**
 * Each test works in a schema of its own, named after the worker process so parallel test files (and
 * other checkouts running against the same database) never meet, and dropped when the test ends.
 */
let schemaCounter = 0;
export function freshSchemaName(): string {
  schemaCounter += 1;
  return `cc_test_${process.pid}_${schemaCounter}`;
}

let adminPool: pg.Pool | undefined;

/** A pool outside any store, for what a test does behind the store's back. */
export function admin(): pg.Pool {
  if (adminPool === undefined) {
    adminPool = new pg.Pool({ connectionString: postgresUrl(), max: 2 });
    adminPool.on('error', () => undefined);
  }
  return adminPool;
}

export async function closeAdmin(): Promise<void> {
  await adminPool?.end();
  adminPool = undefined;
}

export async function dropSchema(schema: string): Promise<void> {
  await admin().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** A migrated store in a fresh schema; `reopen` closes its pool and opens the same schema again. */
export async function openPostgresFixture(): Promise<StoreFixture> {
  const schema = freshSchemaName();
  let current: Store = await createPostgresStore({ connectionString: postgresUrl() }, { migrate: true, schema });
  return {
    store: current,
    async reopen() {
      await current.close();
      // Without `migrate`: a migrated schema opens as is.
      current = await createPostgresStore({ connectionString: postgresUrl() }, { schema });
      return current;
    },
    async cleanup() {
      await current.close();
      await dropSchema(schema);
    },
  };
}

/** `postgresUrl()` with another host, port or query parameter. */
export function postgresUrlWith(change: { port?: number; host?: string; applicationName?: string }): string {
  const url = new URL(postgresUrl());
  if (change.host !== undefined) url.hostname = change.host;
  if (change.port !== undefined) url.port = String(change.port);
  if (change.applicationName !== undefined) url.searchParams.set('application_name', change.applicationName);
  return url.toString();
}

/** What a failed call rejected with, asserted to be a `StoreUnavailableError` that carries no SQL. */
export async function expectUnavailable(call: Promise<unknown>): Promise<StoreUnavailableError> {
  const failure: unknown = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(StoreUnavailableError);
  const { message, cause } = failure as StoreUnavailableError;
  expect(cause).toBeDefined();
  if (cause instanceof Error && cause.message !== '') expect(message).not.toContain(cause.message);
  expect(message).not.toMatch(/\b(select|insert|update|delete|from|where|table|sessions|users)\b/i);
  return failure as StoreUnavailableError;
}

/** Milliseconds `call` took to settle, and how. */
export async function timed<T>(call: () => Promise<T>): Promise<{ elapsed: number; result: Promise<T> }> {
  const started = performance.now();
  const result = call();
  await result.then(
    () => undefined,
    () => undefined,
  );
  return { elapsed: performance.now() - started, result };
}

/**
 * A TCP relay in front of Postgres that a test can cut (every connection dropped, new ones refused)
 * and restore on the same port: an outage and a recovery, without touching the real server.
 */
export interface Relay {
  port: number;
  url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(): Promise<Relay> {
  const target = new URL(postgresUrl());
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  function listen(port: number): Promise<number> {
    const next = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server = next;
    return new Promise((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        const address = next.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  async function cut(): Promise<void> {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (closing !== undefined) await new Promise<void>((resolve) => closing.close(() => resolve()));
  }

  const port = await listen(0);
  return {
    port,
    url: postgresUrlWith({ host: '127.0.0.1', port }),
    cut,
    async restore() {
      await listen(port);
    },
    close: cut,
  };
}

/** A server that accepts connections and never answers: what a hung database looks like. */
export async function startBlackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: postgresUrlWith({ host: '127.0.0.1', port }),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
