import BetterSqlite3 from 'better-sqlite3';
import { chmodSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { Store } from '../../src/store/types.js';
import { createSqliteStore, DEFAULT_MMAP_BYTES, type SqliteStore } from '../../src/stores/sqlite/index.js';
import { migrate, migrations } from '../../src/stores/sqlite/migrations.js';
import { defineStoreConformance, type StoreFixture } from './conformance.js';
import { makeSession, makeUser } from './fixtures.js';
import { defineRefreshFamilyConformance } from './refresh-family-conformance.js';
import { defineSigningKeyConformance } from './signing-key-conformance.js';

function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'coatcheck-store-'));
}

function openFixture(): Promise<StoreFixture> {
  const dir = makeTempDir();
  const path = join(dir, 'auth.db');
  let current: Store = createSqliteStore({ path });
  return Promise.resolve({
    store: current,
    async reopen() {
      await current.close();
      current = createSqliteStore({ path });
      return current;
    },
    async cleanup() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

defineStoreConformance('sqlite', openFixture, {
  persistent: true,
  joinsSessionsWithUsers: true,
  readsWithoutWaiting: true,
});
defineRefreshFamilyConformance('sqlite', openFixture, { persistent: true });
defineSigningKeyConformance('sqlite', openFixture, { persistent: true });

describe('sqlite store', () => {
  let dir: string;
  let path: string;
  const opened: SqliteStore[] = [];

  function open(): SqliteStore {
    const store = createSqliteStore({ path });
    opened.push(store);
    return store;
  }

  beforeEach(() => {
    dir = makeTempDir();
    path = join(dir, 'auth.db');
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists its migrations in strictly increasing order', () => {
    const versions = migrations.map((migration) => migration.version);
    expect(versions.length).toBeGreaterThan(0);
    versions.forEach((version, index) => expect(version).toBeGreaterThan(versions[index - 1] ?? 0));
  });

  it('applies migrations once: opening again, or migrating again, changes nothing', async () => {
    const first = open();
    const user = makeUser();
    await first.users.create(user);
    await first.close();

    const second = open();
    const applied = second.database.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    expect(applied).toEqual(migrations.map((migration) => migration.version));
    expect(() => migrate(second.database)).not.toThrow();
    expect(second.database.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(migrations.length);
    expect(await second.users.findById(user.id)).toEqual(user);
  });

  it('opens in WAL mode with foreign keys, NORMAL sync and a busy timeout', () => {
    const { database } = open();
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(database.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(database.pragma('synchronous', { simple: true })).toBe(1);
    expect(database.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('reads a file it opens through a memory map of DEFAULT_MMAP_BYTES, or of mmapBytes; 0 turns it off', async () => {
    expect(open().database.pragma('mmap_size', { simple: true })).toBe(DEFAULT_MMAP_BYTES);
    const small = createSqliteStore({ path, mmapBytes: 4096 * 256 });
    opened.push(small);
    expect(small.database.pragma('mmap_size', { simple: true })).toBe(4096 * 256);
    const off = createSqliteStore({ path, mmapBytes: 0 });
    opened.push(off);
    expect(off.database.pragma('mmap_size', { simple: true })).toBe(0);
    // Connections with and without a map share one file's writes.
    const user = makeUser();
    await off.users.create(user);
    expect(await small.users.findById(user.id)).toEqual(user);
  });

  it('leaves the map of a handle it was given as the handle has it', async () => {
    const handle = new BetterSqlite3(path);
    try {
      handle.pragma('mmap_size = 65536');
      const store = createSqliteStore({ database: handle });
      expect(handle.pragma('mmap_size', { simple: true })).toBe(65536);
      await store.close();
    } finally {
      handle.close();
    }
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1024' as unknown as number])(
    'refuses mmapBytes %s before creating any file',
    (mmapBytes) => {
      expect(() => createSqliteStore({ path, mmapBytes })).toThrow(/mmapBytes must be a non-negative integer/);
      expect(() => statSync(path)).toThrow();
    },
  );

  it('refuses a database from a newer schema version', async () => {
    await open().close();
    const raw = new BetterSqlite3(path);
    raw.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(999, Date.now());
    raw.close();
    expect(() => createSqliteStore({ path })).toThrow(/version 999/);
  });

  it('names the file when it cannot open it (not a database) in a StoreUnavailableError', () => {
    writeFileSync(path, 'not a database, only some text that is long enough to be read as a header\n'.repeat(4));
    let thrown: unknown;
    try {
      createSqliteStore({ path });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StoreUnavailableError);
    expect(thrown).toMatchObject({
      message: `The SQLite file ${path} cannot be opened`,
      cause: { code: 'SQLITE_NOTADB' },
    });
  });

  it('turns a driver error into StoreUnavailableError without SQL in the message', async () => {
    const store = open();
    store.database.exec('DROP TABLE sessions');
    const failure: unknown = await store.sessions.findById('ses_x').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    const { message, cause } = failure as StoreUnavailableError;
    expect(cause).toBeInstanceOf(BetterSqlite3.SqliteError);
    expect(message).not.toContain((cause as Error).message);
    expect(message).not.toMatch(/\b(select|from|where|table|sessions)\b/i);
  });

  it('turns a handle closed behind its back into StoreUnavailableError', async () => {
    const store = open();
    store.database.close();
    await expect(store.users.findById('usr_x')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('creates a missing parent directory, readable by the owner only', async () => {
    path = join(dir, 'nested', 'deeper', 'auth.db');
    const store = open();
    await expect(store.ping()).resolves.toBeUndefined();
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'nested', 'deeper')).mode & 0o777).toBe(0o700);
  });

  it('keeps the file and its -wal and -shm readable by the owner only, whatever the umask', async () => {
    const previous = process.umask(0o022);
    try {
      const store = open();
      await store.users.create(makeUser());
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(statSync(file).mode & 0o777).toBe(0o600);
      await store.close();
      // A file an older version left readable by others is narrowed at the next open.
      chmodSync(path, 0o644);
      const reopened = open();
      await reopened.users.create(makeUser());
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });

  it('fails its ping (so /healthz answers 503) once its file is deleted or replaced under it', async () => {
    const store = open();
    await store.users.create(makeUser());
    await expect(store.ping()).resolves.toBeUndefined();
    for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
    // SQLite itself carries on, on the deleted inode: this write is lost when the process ends.
    await expect(store.users.create(makeUser())).resolves.not.toBeNull();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);

    const replaced = join(dir, 'replaced.db');
    path = join(dir, 'other.db');
    const other = open();
    await expect(other.ping()).resolves.toBeUndefined();
    createSqliteStore({ path: replaced }).database.close();
    renameSync(replaced, path);
    await expect(other.ping()).rejects.toThrow(/deleted or replaced/);
  });

  it("shares a caller's handle and leaves it open on close", async () => {
    const database = new BetterSqlite3(path);
    try {
      const store = createSqliteStore({ database });
      expect(store.database).toBe(database);
      const user = makeUser();
      await store.users.create(user);
      await store.close();
      expect(database.open).toBe(true);
      expect(database.prepare('SELECT email FROM users WHERE id = ?').pluck().get(user.id)).toBe(user.email);
      await expect(store.users.findById(user.id)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      database.close();
    }
  });

  it("deletes a user's sessions with the user (ON DELETE CASCADE)", async () => {
    const store = open();
    const user = makeUser();
    await store.users.create(user);
    const session = makeSession(user.id);
    await store.sessions.create(session);
    store.database.prepare('DELETE FROM users WHERE id = ?').run(user.id);
    expect(await store.sessions.findById(session.id)).toBeNull();
  });

  it('purges a backlog of expired sessions in batches, serving the event loop between them', async () => {
    const store = open();
    const user = makeUser();
    await store.users.create(user);
    const insert = store.database.prepare(
      `INSERT INTO sessions (id, secret_hash, user_id, method, created_at, last_seen_at, idle_expires_at,
         absolute_expires_at, user_agent, ip) VALUES (?, ?, ?, 'session', 0, 0, 1, 1, NULL, NULL)`,
    );
    store.database.transaction(() => {
      for (let i = 0; i < 5_000; i++) insert.run(`ses_backlog_${i}`, `hash_${i}`, user.id);
    })();
    let turns = 0;
    let purging = true;
    const turn = () => {
      if (!purging) return;
      turns += 1;
      setImmediate(turn);
    };
    setImmediate(turn);
    expect(await store.sessions.deleteExpired(10)).toBe(5_000);
    purging = false;
    // One statement would have run inside the call, before any other callback could.
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('stores times as INTEGER', async () => {
    const store = open();
    const user = makeUser();
    await store.users.create(user);
    await store.sessions.create(makeSession(user.id));
    const types = store.database
      .prepare('SELECT typeof(created_at) || typeof(idle_expires_at) || typeof(absolute_expires_at) FROM sessions')
      .pluck()
      .get();
    expect(types).toBe('integerintegerinteger');
  });
});
