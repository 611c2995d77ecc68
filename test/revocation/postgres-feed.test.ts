import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresRevocationFeed } from '../../src/revocation/postgres-feed.js';
import type { RevocationEvent, RevocationFeed } from '../../src/revocation/types.js';
import { migratePostgres } from '../../src/stores/postgres/index.js';
import { probePostgres, postgresUrl, requireService } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const available = await requireService('postgres', probePostgres);

/** The Postgres feed's own connection and its table, against a real server (and a proxy to cut it off). */
describe.runIf(available)('Postgres revocation feed', () => {
  const schema = `cc_feed_${process.pid}_${Date.now() % 100000}`;
  let pool: pg.Pool;
  let proxy: TcpProxy;
  let counter = 0;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await migratePostgres(postgresUrl(), { schema });
    pool = new pg.Pool({ connectionString: postgresUrl(), max: 4 });
    pool.on('error', () => undefined);
    const target = new URL(postgresUrl());
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await proxy?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool?.end();
  });

  /** A feed whose LISTEN connection goes through the proxy and names itself in pg_stat_activity. */
  function proxiedFeed(heartbeatMs: number): { feed: RevocationFeed; applicationName: string } {
    counter += 1;
    const applicationName = `${schema}_${counter}`;
    const url = new URL(postgresUrl());
    url.host = `127.0.0.1:${proxy.port}`;
    url.searchParams.set('application_name', applicationName);
    const feed = createPostgresRevocationFeed({ pool, connectionString: url.href, schema, heartbeatMs });
    cleanups.push(async () => {
      await feed.close();
      await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
        applicationName,
      ]);
    });
    return { feed, applicationName };
  }

  async function backends(applicationName: string): Promise<number> {
    const { rows } = await pool.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
    return rows.length;
  }

  it('refuses a schema name that is not a plain lowercase identifier with TypeError, as the store does', () => {
    // The name is pasted into the feed's SQL: an application that passes its own setting straight
    // through must not be able to turn it into statements.
    const names = ['', 'Auth', 'auth-x', 'public".revocation_events; DROP TABLE users; --', 'pg_auth', 'a'.repeat(64)];
    for (const name of names) {
      expect(() => createPostgresRevocationFeed({ pool, connectionString: postgresUrl(), schema: name })).toThrow(
        TypeError,
      );
    }
  });

  it('removes expired events as it publishes, so the table stays small between restarts', async () => {
    // Only a start or a reconnect (loadActive) used to remove them: instances that run for weeks
    // kept every logout's event, and the catch-up after a reconnect had to delete them all first.
    const table = `"${schema}".revocation_events`;
    await pool.query(`INSERT INTO ${table} (event, expires_at) SELECT '{}', 0 FROM generate_series(1, 50)`);
    const feed = createPostgresRevocationFeed({ pool, connectionString: postgresUrl(), schema });
    cleanups.push(() => feed.close());
    const event = { sessionIds: ['ses_published'], users: [], expiresAt: Date.now() + 60_000 };
    await feed.publish(event);
    const { rows } = await pool.query<{ event: string }>(
      `SELECT event FROM ${table} WHERE expires_at < $1 OR event LIKE '%ses_published%'`,
      [Date.now() - 60_000],
    );
    expect(rows.map((row) => JSON.parse(row.event) as unknown)).toEqual([event]);
  });

  it('closed while it reconnects, it leaves no LISTEN connection behind and hears nothing more', async () => {
    const { feed, applicationName } = proxiedFeed(100);
    const heard: RevocationEvent[] = [];
    let disconnects = 0;
    await feed.subscribe({
      onEvent: (event) => heard.push(event),
      onConnected: () => undefined,
      onDisconnected: () => (disconnects += 1),
    });
    expect(await backends(applicationName)).toBe(1);

    // A silent partition: the heartbeat gives the connection up, and the reconnect 200 ms later
    // connects through the frozen proxy, where its connection hangs (connect timeout 2 s).
    proxy.freeze();
    await expect.poll(() => disconnects, { timeout: 2_000, interval: 10 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await feed.close();
    // The partition heals while the connection the feed started is still connecting.
    proxy.thaw();
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const direct = createPostgresRevocationFeed({ pool, connectionString: postgresUrl(), schema });
    cleanups.push(() => direct.close());
    await direct.publish({ sessionIds: ['ses_after_close'], users: [], expiresAt: Date.now() + 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard).toEqual([]);
    expect(await backends(applicationName)).toBe(0);
  }, 15_000);
});
