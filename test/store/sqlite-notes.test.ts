import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { createSqliteNotes } from '../../src/server/notes.js';

// The demo's notes live in the SQLite file beside the auth tables: when that file fails, /api/notes
// must answer 503 store_unavailable as the auth routes do, so the notes store rejects with
// StoreUnavailableError (the app's error handler maps it by name), never a raw driver error (a 500).
describe('sqlite notes store failures', () => {
  let dir: string;
  let db: BetterSqlite3.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coatcheck-notes-'));
    db = new BetterSqlite3(join(dir, 'coatcheck.db'));
    db.pragma('journal_mode = WAL');
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects with StoreUnavailableError when the disk is full (SQLITE_FULL), and stores no note', async () => {
    const notes = createSqliteNotes(db);
    await notes.add('usr_a', 'first', 1);
    // The file may not grow past its current size: the next pages SQLite needs are refused.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const failed = notes.add('usr_a', 'x'.repeat(64 * 1024), 2);
    await expect(failed).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(failed).rejects.toMatchObject({ cause: { code: 'SQLITE_FULL' } });
    expect((await notes.list('usr_a')).map((note) => note.text)).toEqual(['first']);
  });

  it('rejects with StoreUnavailableError, not a synchronous throw, when the database is gone', async () => {
    const notes = createSqliteNotes(db);
    db.close();
    let list: Promise<unknown> | undefined;
    let add: Promise<unknown> | undefined;
    expect(() => {
      list = notes.list('usr_a');
      add = notes.add('usr_a', 'note', 1);
    }).not.toThrow();
    await expect(list).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(add).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
