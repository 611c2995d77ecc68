import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { createPostgresStore, migratePostgres, type PostgresStore } from '../../src/stores/postgres/index.js';
import { postgresUrl, probePostgres, requireService } from '../helpers/services.js';
import { makeRotation, makeUser, MINUTE, T0 } from './fixtures.js';
import {
  admin,
  closeAdmin,
  dropSchema,
  expectUnavailable,
  freshSchemaName,
  postgresUrlWith,
  startBlackHole,
  startRelay,
  timed,
} from './postgres-helpers.js';
import { createFamily } from './refresh-family-helpers.js';

const available = await requireService('postgres', probePostgres);

/** How Postgres going away looks to the store: every call fails fast with a 503, then it recovers by itself. */
describe.runIf(available)('postgres store: outages', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(closeAdmin);

  /** A migrated schema, and a store on it whose connections carry the schema's name as application_name. */
  async function openStore(connectionString?: string): Promise<{ store: PostgresStore; name: string }> {
    const name = freshSchemaName();
    await migratePostgres(postgresUrl(), { schema: name });
    cleanups.push(() => dropSchema(name));
    const url = connectionString ?? postgresUrlWith({ applicationName: name });
    const store = await createPostgresStore({ connectionString: url }, { schema: name });
    cleanups.push(() => store.close());
    return { store, name };
  }

  async function backendsOf(applicationName: string, options: { waitingOnLock?: boolean } = {}): Promise<number[]> {
    const { rows } = await admin().query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND (NOT $2 OR wait_event_type = 'Lock')",
      [applicationName, options.waitingOnLock === true],
    );
    return rows.map((row) => row.pid);
  }

  async function terminate(applicationName: string): Promise<number> {
    const pids = await backendsOf(applicationName);
    await admin().query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
    return pids.length;
  }

  async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('rejects with StoreUnavailableError within 3 s when nothing listens', async () => {
    const unreachable = postgresUrlWith({ host: '127.0.0.1', port: 1 });
    const pool = new pg.Pool({ connectionString: unreachable, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    const attempts: (() => Promise<unknown>)[] = [
      () => createPostgresStore({ connectionString: unreachable }, { schema: 'coatcheck' }),
      () => createPostgresStore({ connectionString: unreachable }, { schema: 'coatcheck', migrate: true }),
      () => createPostgresStore({ pool }),
      () => migratePostgres(unreachable),
    ];
    for (const attempt of attempts) {
      const { elapsed, result } = await timed(attempt);
      await expectUnavailable(result);
      expect(elapsed).toBeLessThan(3_000);
    }
  });

  it('gives up on a server that accepts connections but never answers, after the 2 s connect timeout', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const { elapsed, result } = await timed(() => createPostgresStore({ connectionString: hole.url }));
    await expectUnavailable(result);
    expect(elapsed).toBeGreaterThan(1_500);
    expect(elapsed).toBeLessThan(3_500);
  });

  it('fails every call fast while Postgres is unreachable, and recovers without a restart', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close());
    const { store } = await openStore(relay.url);
    const user = makeUser();
    await store.users.create(user);

    await relay.cut();
    const calls: (() => Promise<unknown>)[] = [
      () => store.ping(),
      () => store.users.findById(user.id),
      () => store.users.create(makeUser()),
      () => store.sessions.deleteByUser(user.id),
      () => store.signingKeys.list(),
    ];
    for (const call of calls) {
      const { elapsed, result } = await timed(call);
      await expectUnavailable(result);
      expect(elapsed).toBeLessThan(3_000);
    }

    await relay.restore();
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await store.users.findById(user.id)).toEqual(user);
  });

  it('fails a call whose backend is killed mid-query, then serves the next ones', async () => {
    const { store, name } = await openStore();
    const family = await createFamily(store);
    // Hold the family's row so the rotation below waits inside Postgres until its backend is killed.
    const holder = await admin().connect();
    cleanups.push(async () => {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    });
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "${name}".refresh_families WHERE id = $1 FOR UPDATE`, [family.id]);

    const next = makeRotation(family.currentHash, T0 + MINUTE);
    const rotation = store.refreshFamilies.rotate(family.id, family.currentHash, next);
    rotation.catch(() => undefined);
    await waitFor(async () => (await backendsOf(name, { waitingOnLock: true })).length > 0);
    const started = performance.now();
    expect(await terminate(name)).toBeGreaterThan(0);
    await expectUnavailable(rotation);
    expect(performance.now() - started).toBeLessThan(3_000);

    await holder.query('ROLLBACK');
    expect(await store.refreshFamilies.rotate(family.id, family.currentHash, next)).toBe(true);
    expect(await store.refreshFamilies.findById(family.id)).toEqual({ ...family, ...next, generation: 1 });
  });

  it('after its idle backends are killed, fails at most the next call and serves the one after', async () => {
    const { store, name } = await openStore();
    const user = makeUser();
    await store.users.create(user);
    expect(await terminate(name)).toBeGreaterThan(0);

    const first = await store.users.findById(user.id).then(
      (found) => ({ found }),
      (error: unknown) => ({ error }),
    );
    if ('error' in first) expect(first.error).toBeInstanceOf(StoreUnavailableError);
    else expect(first.found).toEqual(user);
    expect(await store.users.findById(user.id)).toEqual(user);
  });

  it('drops an idle connection the server closed, without crashing, and reconnects', async () => {
    const { store, name } = await openStore();
    await store.ping();
    expect(store.pool.idleCount).toBeGreaterThan(0);
    // No listener of the test's own: the store's must be what keeps the pool's 'error' from crashing.
    await terminate(name);
    await waitFor(() => store.pool.totalCount === 0);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('opens with { migrate: true } while another migration holds the lock past the request timeouts', async () => {
    const name = freshSchemaName();
    cleanups.push(() => dropSchema(name));
    const holder = await admin().connect();
    cleanups.push(async () => {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    });
    await holder.query('BEGIN');
    await holder.query("SELECT pg_advisory_xact_lock(hashtext('coatcheck_migrate'), hashtext($1))", [name]);

    const url = postgresUrlWith({ applicationName: name });
    const opening = createPostgresStore({ connectionString: url }, { schema: name, migrate: true }).then(
      (store) => {
        cleanups.push(() => store.close());
        return store;
      },
      (error: unknown) => error,
    );
    await waitFor(async () => (await backendsOf(name, { waitingOnLock: true })).length > 0);
    // Past both timeouts a request gets (5 s in the server, 6 s in the client): a migration gets minutes.
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    await holder.query('ROLLBACK');
    const opened = await opening;
    if (opened instanceof Error) throw opened;
    const store = opened as PostgresStore;
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await store.users.findById('usr_x')).toBeNull();
  });

  it('cancels a statement stuck past the 5 s statement timeout with StoreUnavailableError', async () => {
    const { store, name } = await openStore();
    const family = await createFamily(store);
    const holder = await admin().connect();
    cleanups.push(async () => {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    });
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "${name}".refresh_families WHERE id = $1 FOR UPDATE`, [family.id]);

    const next = makeRotation(family.currentHash, T0 + MINUTE);
    const { elapsed, result } = await timed(() => store.refreshFamilies.rotate(family.id, family.currentHash, next));
    const failure = await expectUnavailable(result);
    expect((failure.cause as pg.DatabaseError).code).toBe('57014');
    expect(elapsed).toBeGreaterThan(4_500);
    expect(elapsed).toBeLessThan(6_500);

    await holder.query('ROLLBACK');
    expect(await store.refreshFamilies.rotate(family.id, family.currentHash, next)).toBe(true);
  });
});
