import BetterSqlite3 from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreUnavailableError } from '../../core/errors.js';
import type { Store } from '../../store/types.js';
import { migrate } from './migrations.js';
import { createSqliteRefreshFamilyStore } from './refresh-family-store.js';
import { createSqliteSessionStore } from './session-store.js';
import { createSqliteSessionWithUser } from './session-with-user.js';
import { createSqliteSigningKeyStore } from './signing-key-store.js';
import { createSqliteUserStore } from './user-store.js';

/**
 * A file to open (created, with its directory, if missing), or a handle the caller already opened.
 *
 * `mmapBytes`: how much of the file SQLite reads through a memory map instead of a `pread` per page
 * (`PRAGMA mmap_size`); default `DEFAULT_MMAP_BYTES`, 0 turns it off. A handle passed in keeps its own.
 */
export type SqliteStoreOptions =
  { path: string; mmapBytes?: number } | { database: BetterSqlite3.Database; mmapBytes?: never };

/**
 * 1 GiB of address space, not of memory: the map covers at most the file, and its pages are the
 * kernel's file cache, which the kernel reclaims as it would the cache behind `pread`. A session
 * takes about 500 bytes with its indexes: well over a million sessions, with their users and
 * refresh rows, before reads past the map fall back to `pread`. (SQLite caps the setting at its
 * build's maximum, 2 GiB less 64 KiB.)
 *
 * Why a map: a session lookup in a file larger than SQLite's own page cache (16 MB here) otherwise
 * copies two or so pages out of the kernel per lookup, each copy a system call, and system calls are
 * dear on virtual machines (see docs/performance.md, "SQLite lookup at 1M sessions"). The trade,
 * SQLite's own: an I/O error on the file under the map, or the file truncated by something other
 * than SQLite, stops the process with SIGBUS instead of failing one query.
 */
export const DEFAULT_MMAP_BYTES = 1024 ** 3;

/** The store plus its driver handle, so the application can keep its own tables in the same file. */
export interface SqliteStore extends Store {
  readonly database: BetterSqlite3.Database;
}

/** Runs one driver operation and turns its failures into what the store contract promises. */
export type Guard = <T>(operation: () => T) => Promise<T>;

/**
 * Opens (and migrates) a SQLite store. Throws at open when the database cannot be opened or was
 * written by a newer coatcheck; after that, driver failures reject with `StoreUnavailableError`.
 *
 * `close()` closes the database only when the store opened it: a handle passed in stays the
 * caller's to close, since other code may still be using it.
 *
 * @example
 * const store = createSqliteStore({ path: './data/coatcheck.db' });
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const ownsDatabase = 'path' in options;
  const mmapBytes = 'path' in options ? checkedMmapBytes(options.mmapBytes) : undefined;
  const db = 'path' in options ? openFile(options.path) : options.database;
  let closed = false;

  const guardNow = <T>(operation: () => T): T => {
    try {
      if (closed) throw new StoreUnavailableError('The store is closed');
      return operation();
    } catch (error) {
      throw toStoreError(error, db);
    }
  };
  const guard: Guard = (operation) => {
    try {
      return Promise.resolve(guardNow(operation));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };

  try {
    // busy_timeout first, so the switch to WAL waits for another process's lock instead of failing.
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // NORMAL is durable against application crashes in WAL mode; only an OS crash can lose the last
    // commits, which for sessions means a few users log in again.
    db.pragma('synchronous = NORMAL');
    // Deleting a session cascades to its refresh family and token hashes only with this on.
    db.pragma('foreign_keys = ON');
    if (mmapBytes !== undefined) db.pragma(`mmap_size = ${mmapBytes}`);
    migrate(db);
    const ping = db.prepare('SELECT 1').pluck();
    const opened = 'path' in options ? fileIdentity(options.path) : undefined;
    const readSessionWithUser = createSqliteSessionWithUser(db);
    return {
      database: db,
      findSessionWithUser: (secretHash) => guard(() => readSessionWithUser(secretHash)),
      findSessionWithUserNow: (secretHash) => guardNow(() => readSessionWithUser(secretHash)),
      users: createSqliteUserStore(db, guard),
      sessions: createSqliteSessionStore(db, guard),
      refreshFamilies: createSqliteRefreshFamilyStore(db, guard),
      signingKeys: createSqliteSigningKeyStore(db, guard),
      ping: () =>
        guard(() => {
          ping.get();
          // A file deleted or replaced under a running server (a restore copied over it, a wiped
          // data directory) leaves this handle on the old inode: every write still succeeds, and
          // is lost with the process. SQLite does not notice in WAL mode, so the health check does.
          if (opened !== undefined && fileIdentity(opened.path)?.key !== opened.key) {
            throw new StoreUnavailableError(
              `The SQLite file ${opened.path} was deleted or replaced since the store opened it: restart to open it again`,
            );
          }
        }),
      close() {
        if (!closed) {
          closed = true;
          if (ownsDatabase) db.close();
        }
        return Promise.resolve();
      },
    };
  } catch (error) {
    if (ownsDatabase) db.close();
    throw 'path' in options ? openFailure(options.path, error) : error;
  }
}

function checkedMmapBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MMAP_BYTES;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError('options.mmapBytes must be a non-negative integer of bytes');
  }
  return value;
}

function openFile(path: string): BetterSqlite3.Database {
  if (path !== '' && path !== ':memory:' && !path.startsWith('file:')) {
    // The file holds password and session hashes: a directory we create is the owner's alone.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    keepOwnerOnly(path);
  }
  try {
    return new BetterSqlite3(path);
  } catch (error) {
    throw openFailure(path, error);
  }
}

/**
 * A SQLite error while opening names the file, for the operator: SQLite's own words ("file is not a
 * database", "attempt to write a readonly database") do not say which, and the CLI prints one line.
 */
function openFailure(path: string, error: unknown): unknown {
  return error instanceof BetterSqlite3.SqliteError
    ? new StoreUnavailableError(`The SQLite file ${path} cannot be opened`, { cause: error })
    : error;
}

/**
 * The file holds password hashes: it is created 0600 here rather than by SQLite (which follows the
 * umask, 0644 as a rule, so anyone who can reach the directory could read it), and one left wider by
 * an older version is narrowed, with its -wal and -shm. SQLite gives the -wal and -shm files it
 * creates later the main file's mode, so they follow.
 */
function keepOwnerOnly(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    // An existing file is left for SQLite to open (or to refuse in its own words).
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    } catch (error) {
      // Missing (no -wal yet), or not ours to change (another user's file we may only read).
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw error;
    }
  }
}

/** The device and inode of a file on disk, to tell it from a new file at the same path. */
function fileIdentity(path: string): { path: string; key: string } | undefined {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return undefined;
  try {
    const { dev, ino } = statSync(path);
    return { path, key: `${dev}:${ino}` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * SQLite's own errors (and a handle that someone else closed) mean the store cannot serve the
 * request: they become `StoreUnavailableError`, whose message never carries SQL or table names (the
 * original is kept as `cause` for logs). A broken constraint (a taken id or token hash, a missing
 * session) is instead the caller's bug, so a plain `Error` as the contract says: a 500, not a 503
 * that invites a retry. Anything else is a bug in the calling code and passes as is.
 */
function toStoreError(error: unknown, db: BetterSqlite3.Database): Error {
  if (error instanceof StoreUnavailableError) return error;
  if (error instanceof BetterSqlite3.SqliteError && error.code.startsWith('SQLITE_CONSTRAINT')) {
    return new Error('The record conflicts with what the store holds', { cause: error });
  }
  if (error instanceof BetterSqlite3.SqliteError || !db.open) {
    return new StoreUnavailableError('The SQLite store failed', { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
