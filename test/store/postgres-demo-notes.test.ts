import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresNotes } from '../../src/server/notes.js';
import { probePostgres, postgresUrl, requireService } from '../helpers/services.js';

const available = await requireService('postgres', probePostgres);

describe.runIf(available)('the demo notes table on Postgres', () => {
  const prefix = `cc_notes_${process.pid}_${Date.now() % 100000}`;
  let pool: pg.Pool;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: postgresUrl(), max: 8 });
  });

  afterAll(async () => {
    const { rows } = await pool.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [
      `${prefix}%`,
    ]);
    for (const { nspname } of rows) await pool.query(`DROP SCHEMA "${nspname}" CASCADE`);
    await pool.end();
  });

  it('is created once when two instances start together on a new schema', async () => {
    // A race, so several rounds: before the lock, nearly every round failed with 23505.
    for (let round = 0; round < 10; round++) {
      const schema = `${prefix}_${round}`;
      await pool.query(`CREATE SCHEMA "${schema}"`);
      const [first, second] = await Promise.all([createPostgresNotes(pool, schema), createPostgresNotes(pool, schema)]);
      const note = await first.add('user_1', 'hello', 1_700_000_000_000);
      expect(await second.list('user_1')).toEqual([note]);
    }
  });
});
