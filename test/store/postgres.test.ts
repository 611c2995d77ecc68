import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { createPostgresStore, migratePostgres, type PostgresStore } from '../../src/stores/postgres/index.js';
import { createDatabase } from '../../src/stores/postgres/connection.js';
import { checkSchemaVersion, migrate } from '../../src/stores/postgres/migrations.js';
import { postgresMigrations } from '../../src/stores/postgres/schema.js';
import { runCli } from '../helpers/cli.js';
import { postgresUrl, probePostgres, requireService } from '../helpers/services.js';
import { defineStoreConformance } from './conformance.js';
import { makeRotation, makeSession, makeUser, MINUTE, T0 } from './fixtures.js';
import { admin, closeAdmin, dropSchema, freshSchemaName, openPostgresFixture } from './postgres-helpers.js';
import { defineRefreshFamilyConformance } from './refresh-family-conformance.js';
import { createRotatedFamily } from './refresh-family-helpers.js';
import { defineSigningKeyConformance } from './signing-key-conformance.js';

const available = await requireService('postgres', probePostgres);
const known = postgresMigrations.at(-1)?.version ?? 0;

describe.runIf(available)('postgres', () => {
  afterAll(closeAdmin);

  defineStoreConformance('postgres', openPostgresFixture, {
    persistent: true,
    joinsSessionsWithUsers: true,
    readsWithoutWaiting: false,
  });
  defineRefreshFamilyConformance('postgres', openPostgresFixture, { persistent: true });
  defineSigningKeyConformance('postgres', openPostgresFixture, { persistent: true });

  describe('postgres store', () => {
    const stores: PostgresStore[] = [];
    const pools: pg.Pool[] = [];
    const schemas: string[] = [];

    function newSchema(): string {
      const schema = freshSchemaName();
      schemas.push(schema);
      return schema;
    }

    async function open(schema: string, settings: { migrate?: boolean } = {}): Promise<PostgresStore> {
      const store = await createPostgresStore({ connectionString: postgresUrl() }, { ...settings, schema });
      stores.push(store);
      return store;
    }

    function newPool(): pg.Pool {
      const pool = new pg.Pool({ connectionString: postgresUrl(), max: 2 });
      pool.on('error', () => undefined);
      pools.push(pool);
      return pool;
    }

    async function versions(schema: string): Promise<number[]> {
      const { rows } = await admin().query<{ version: number }>(
        `SELECT version FROM "${schema}".coatcheck_schema_migrations ORDER BY version`,
      );
      return rows.map((row) => row.version);
    }

    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
      for (const pool of pools.splice(0)) await pool.end();
      for (const schema of schemas.splice(0)) await dropSchema(schema);
    });

    it('lists its migrations in strictly increasing order', () => {
      const list = postgresMigrations.map((migration) => migration.version);
      expect(list.length).toBeGreaterThan(0);
      list.forEach((version, index) => expect(version).toBeGreaterThan(list[index - 1] ?? 0));
    });

    it('creates and migrates a missing schema; migrating again changes nothing', async () => {
      const schema = newSchema();
      expect(await migratePostgres(postgresUrl(), { schema })).toEqual({ from: 0, to: known });
      const store = await open(schema);
      const user = makeUser();
      await store.users.create(user);
      expect(await migratePostgres(postgresUrl(), { schema })).toEqual({ from: known, to: known });
      expect(await migratePostgres(store.pool, { schema })).toEqual({ from: known, to: known });
      expect(await versions(schema)).toEqual(postgresMigrations.map((migration) => migration.version));
      expect(await store.users.findById(user.id)).toEqual(user);
    });

    it('applies each migration once when several instances start together', async () => {
      const schema = newSchema();
      const [first, second] = await Promise.all([
        migratePostgres(postgresUrl(), { schema }),
        migratePostgres(postgresUrl(), { schema }),
        open(schema, { migrate: true }),
        open(schema, { migrate: true }),
      ]);
      expect([first.from, second.from]).toContain(known);
      expect([first.to, second.to]).toEqual([known, known]);
      expect(await versions(schema)).toEqual(postgresMigrations.map((migration) => migration.version));
    });

    it('applies each migration once under a stricter default isolation level, to a new or an older schema', async () => {
      // A database (or role) may default to REPEATABLE READ or SERIALIZABLE; a migration that read
      // its version with the snapshot taken before it waited for the lock would redo the work.
      for (const level of ['repeatable\\ read', 'serializable']) {
        const strict = [0, 1].map(() => {
          const pool = new pg.Pool({
            connectionString: postgresUrl(),
            max: 1,
            options: `-c default_transaction_isolation=${level}`,
          });
          pool.on('error', () => undefined);
          pools.push(pool);
          return pool;
        });
        const schema = newSchema();
        const fresh = await Promise.all(strict.map((pool) => migrate(pool, schema, postgresMigrations.slice(0, 1))));
        expect(fresh.map((result) => result.from).sort()).toEqual([0, 1]);
        const upgraded = await Promise.all(strict.map((pool) => migrate(pool, schema)));
        expect(upgraded.map((result) => result.from).sort()).toEqual([1, known]);
        expect(await versions(schema)).toEqual(postgresMigrations.map((migration) => migration.version));
      }
    });

    it('applies a later migration to a schema at an earlier version, in the schema', async () => {
      const schema = newSchema();
      const pool = newPool();
      await migrate(pool, schema);
      const later = [...postgresMigrations, { version: known + 1, sql: 'CREATE TABLE later_table (id INTEGER)' }];
      const db = createDatabase(pool, schema, () => false);
      await expect(checkSchemaVersion(db, later)).rejects.toThrow(
        new RegExp(`at version ${known}, but this coatcheck needs version ${known + 1}.*coatcheck migrate`),
      );
      expect(await migrate(pool, schema, later)).toEqual({ from: known, to: known + 1 });
      await expect(checkSchemaVersion(db, later)).resolves.toBeUndefined();
      const { rows } = await admin().query('SELECT to_regclass($1) AS found', [`"${schema}".later_table`]);
      expect(rows[0].found).not.toBeNull();
      expect((await pool.query('SHOW search_path')).rows[0].search_path).not.toContain(schema);
    });

    it('refuses a schema from a newer version, whether opening or migrating', async () => {
      const schema = newSchema();
      await migratePostgres(postgresUrl(), { schema });
      await admin().query(`INSERT INTO "${schema}".coatcheck_schema_migrations VALUES (999, 0)`);
      const attempts: (() => Promise<unknown>)[] = [
        () => open(schema),
        () => open(schema, { migrate: true }),
        () => migratePostgres(postgresUrl(), { schema }),
      ];
      for (const attempt of attempts) {
        const failure: unknown = await attempt().catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(Error);
        expect(failure).not.toBeInstanceOf(StoreUnavailableError);
        expect((failure as Error).message).toMatch(
          new RegExp(`version 999, but this coatcheck knows only up to version ${known}`),
        );
      }
      expect(await versions(schema)).toEqual([...postgresMigrations.map((migration) => migration.version), 999]);
    });

    it('says what the server refused when a migration fails on the schema, not that the store is unavailable', async () => {
      // `public` is the default schema, and an application's own `users` table is often there.
      const schema = newSchema();
      await admin().query(`CREATE SCHEMA "${schema}"`);
      await admin().query(`CREATE TABLE "${schema}".users (id INTEGER)`);
      const attempts: (() => Promise<unknown>)[] = [
        () => migratePostgres(postgresUrl(), { schema }),
        () => open(schema, { migrate: true }),
      ];
      for (const attempt of attempts) {
        const failure: unknown = await attempt().catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(Error);
        expect(failure).not.toBeInstanceOf(StoreUnavailableError);
        expect((failure as Error).message).toBe(
          `Migrating the Postgres schema "${schema}" to version 1 failed, and nothing was changed: ` +
            'relation "users" already exists (SQLSTATE 42P07).',
        );
      }
      const { rows } = await admin().query('SELECT to_regclass($1) AS found', [
        `"${schema}".coatcheck_schema_migrations`,
      ]);
      expect(rows[0].found).toBeNull();

      const cli = runCli(['migrate'], {
        env: { DATABASE_URL: postgresUrl(), COATCHECK_DATABASE_SCHEMA: schema },
      });
      expect(cli.status).toBe(1);
      expect(cli.stderr).toMatch(/^coatcheck: Migrating the Postgres schema .* relation "users" already exists .*\n$/);
    });

    it('coatcheck migrate brings a schema to the newest version, then has nothing to do', () => {
      const schema = newSchema();
      const env = { DATABASE_URL: postgresUrl(), COATCHECK_DATABASE_SCHEMA: schema };
      const first = runCli(['migrate'], { env });
      expect([first.status, first.stderr]).toEqual([0, '']);
      expect(first.stdout).toBe(`postgres (${schema}): migrated from version 0 to ${known}\n`);
      const again = runCli(['migrate'], { env });
      expect(again.stdout).toBe(`postgres (${schema}): at version ${known}, nothing to do\n`);
    });

    it('a command that cannot reach the database tells the operator why, in one line', () => {
      const target = new URL(postgresUrl());
      target.pathname = '/cc_no_such_database';
      const missing = runCli(['migrate'], { env: { DATABASE_URL: target.href } });
      expect(missing.status).toBe(1);
      expect(missing.stderr).toBe(
        'coatcheck: The Postgres store failed: database "cc_no_such_database" does not exist\n',
      );
      const refused = runCli(['users', 'list'], { env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' } });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(
        /^coatcheck: The Postgres store cannot be reached: connect ECONNREFUSED 127\.0\.0\.1:1\n$/,
      );
    });

    it('refuses to open an unmigrated schema without migrate: true, and creates nothing', async () => {
      const schema = newSchema();
      const failure: unknown = await open(schema).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      expect(failure).not.toBeInstanceOf(StoreUnavailableError);
      expect((failure as Error).message).toMatch(/no coatcheck tables yet.*Run `coatcheck migrate`/);
      const { rowCount } = await admin().query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(rowCount).toBe(0);
    });

    it('rejects a schema name that is not a plain lowercase identifier with TypeError, before connecting', async () => {
      const unreachable = 'postgres://postgres@127.0.0.1:1/test';
      const names = ['', 'Auth', 'auth-x', '1auth', 'auth"; DROP SCHEMA public; --', 'a'.repeat(64), 'pg_auth', 'é'];
      for (const schema of names) {
        await expect(createPostgresStore({ connectionString: unreachable }, { schema })).rejects.toBeInstanceOf(
          TypeError,
        );
        await expect(migratePostgres(unreachable, { schema })).rejects.toBeInstanceOf(TypeError);
      }
      await expect(createPostgresStore({ connectionString: '' })).rejects.toBeInstanceOf(TypeError);
    });

    it('keeps each schema apart and leaves the search_path of a pool passed in alone', async () => {
      const [a, b] = [newSchema(), newSchema()];
      await migratePostgres(postgresUrl(), { schema: a });
      const pool = newPool();
      const before = (await pool.query('SHOW search_path')).rows[0].search_path;
      const inA = await createPostgresStore({ pool }, { schema: a });
      const inB = await open(b, { migrate: true });
      expect(inA.pool).toBe(pool);
      const user = makeUser();
      await inA.users.create(user);
      expect(await inB.users.findById(user.id)).toBeNull();
      expect(await inB.users.create(user)).toEqual(user);
      expect((await pool.query('SHOW search_path')).rows[0].search_path).toBe(before);

      await inA.close();
      expect(pool.ended).toBe(false);
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await expect(inA.users.findById(user.id)).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it('ends the pool it opened on close', async () => {
      const store = await open(newSchema(), { migrate: true });
      await store.close();
      expect(store.pool.ended).toBe(true);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it('opens its pool with bounded timeouts and an error listener', async () => {
      const store = await open(newSchema(), { migrate: true });
      expect(store.pool.options).toMatchObject({ max: 10, connectionTimeoutMillis: 2000, idleTimeoutMillis: 30_000 });
      expect(store.pool.listenerCount('error')).toBeGreaterThan(0);
      const { rows } = await store.pool.query('SHOW statement_timeout');
      expect(rows[0].statement_timeout).toBe('5s');
    });

    it('stores every time as BIGINT and reads it back as a number', async () => {
      const schema = newSchema();
      const store = await open(schema, { migrate: true });
      const { rows } = await admin().query<{ column_name: string; data_type: string }>(
        `SELECT table_name || '.' || column_name AS column_name, data_type FROM information_schema.columns
         WHERE table_schema = $1 AND column_name LIKE '%\\_at' AND table_name <> 'coatcheck_schema_migrations'`,
        [schema],
      );
      // 14 in the auth tables, and revocation_events.expires_at.
      expect(rows.length).toBe(15);
      for (const row of rows) expect(row, row.column_name).toMatchObject({ data_type: 'bigint' });
      const far = makeUser({ createdAt: 2 ** 50, updatedAt: 2 ** 50 + 1 });
      await store.users.create(far);
      expect(await store.users.findById(far.id)).toEqual(far);
    });

    it('turns a broken constraint or an unfit value into a plain Error without SQL', async () => {
      const store = await open(newSchema(), { migrate: true });
      const user = makeUser();
      await store.users.create(user);
      const calls: (() => Promise<unknown>)[] = [
        () => store.sessions.create(makeSession('usr_missing')),
        () => store.sessions.create(makeSession(user.id, { createdAt: 1.5 })),
        () => store.sessions.create(makeSession(user.id, { method: 'magic' as 'token' })),
      ];
      for (const call of calls) {
        const failure: unknown = await call().catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(Error);
        expect(failure).not.toBeInstanceOf(StoreUnavailableError);
        const { message, cause } = failure as Error;
        expect(message).not.toMatch(/\b(insert|into|sessions|users|violates)\b/i);
        expect(cause).toBeInstanceOf(pg.DatabaseError);
      }
      expect(await store.sessions.listByUser(user.id)).toEqual([]);
    });

    it('turns a server error into StoreUnavailableError without SQL in the message', async () => {
      const schema = newSchema();
      const store = await open(schema, { migrate: true });
      await admin().query(`DROP TABLE "${schema}".sessions CASCADE`);
      const failure: unknown = await store.sessions.findById('ses_x').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      const { message, cause } = failure as StoreUnavailableError;
      expect(cause).toBeInstanceOf(pg.DatabaseError);
      expect((cause as pg.DatabaseError).code).toBe('42P01');
      expect(message).not.toContain((cause as Error).message);
      expect(message).not.toMatch(/\b(select|from|where|table|sessions)\b/i);
    });

    it('cascades a user deleted in SQL down to the token hashes, leaving no orphan rows', async () => {
      const schema = newSchema();
      const store = await open(schema, { migrate: true });
      const count = async (table: string): Promise<number> =>
        Number((await admin().query(`SELECT COUNT(*) AS n FROM "${schema}".${table}`)).rows[0].n);
      const doomed = await createRotatedFamily(store);
      const kept = await createRotatedFamily(store);
      expect(await count('refresh_token_hashes')).toBe(6);
      await admin().query(`DELETE FROM "${schema}".users WHERE id = $1`, [doomed.session.userId]);
      expect(await count('refresh_families')).toBe(1);
      expect(await count('refresh_token_hashes')).toBe(3);
      expect(await store.refreshFamilies.findByTokenHash(kept.hashes[0] ?? '')).toEqual(kept.family);
    });

    it('loses a rotation race with false, not a 503, on a database that defaults to a stricter isolation level', async () => {
      // The losing tab of two refreshing at once must re-read and get the winner's successor. Under
      // REPEATABLE READ or SERIALIZABLE its UPDATE failed with 40001 (a 503) instead of matching nothing.
      for (const level of ['repeatable\\ read', 'serializable']) {
        const schema = newSchema();
        await migratePostgres(postgresUrl(), { schema });
        const pool = new pg.Pool({
          connectionString: postgresUrl(),
          max: 2,
          application_name: schema,
          options: `-c default_transaction_isolation=${level}`,
        });
        pool.on('error', () => undefined);
        pools.push(pool);
        const store = await createPostgresStore({ pool }, { schema });
        const { family } = await createRotatedFamily(store);

        // The winner's rotation, held uncommitted until the loser has read its snapshot and waits.
        const winner = makeRotation(family.currentHash, T0 + 10 * MINUTE);
        const holder = await admin().connect();
        try {
          await holder.query('BEGIN');
          await holder.query(
            `UPDATE "${schema}".refresh_families SET current_hash = $2, generation = generation + 1 WHERE id = $1`,
            [family.id, winner.currentHash],
          );
          const loser = store.refreshFamilies.rotate(
            family.id,
            family.currentHash,
            makeRotation(family.currentHash, T0 + 10 * MINUTE),
          );
          loser.catch(() => undefined);
          await expect
            .poll(
              async () =>
                (
                  await admin().query(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                    [schema],
                  )
                ).rowCount,
              { timeout: 3_000, interval: 20 },
            )
            .toBe(1);
          await holder.query('COMMIT');
          expect(await loser).toBe(false);
        } finally {
          await holder.query('ROLLBACK').catch(() => undefined);
          holder.release();
        }
        expect((await store.refreshFamilies.findById(family.id))?.currentHash).toBe(winner.currentHash);
      }
    });

    it('swaps in SQL, not in a cache: a second store sees the rotation and loses the race', async () => {
      const schema = newSchema();
      const first = await open(schema, { migrate: true });
      const second = await open(schema);
      const { family } = await createRotatedFamily(first);
      const next = makeRotation(family.currentHash, T0 + 10 * MINUTE);
      expect(await first.refreshFamilies.rotate(family.id, family.currentHash, next)).toBe(true);
      const late = makeRotation(family.currentHash, T0 + 10 * MINUTE);
      expect(await second.refreshFamilies.rotate(family.id, family.currentHash, late)).toBe(false);
      expect(await second.refreshFamilies.findByTokenHash(family.currentHash)).toEqual({
        ...family,
        ...next,
        generation: 3,
      });
    });
  });
});
