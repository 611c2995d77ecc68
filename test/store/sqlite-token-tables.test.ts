import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../../src/stores/sqlite/index.js';
import { migrate, migrations } from '../../src/stores/sqlite/migrations.js';
import { makeRefreshFamily, makeRotation, makeSession, makeSigningKey, makeUser, MINUTE, T0 } from './fixtures.js';
import { createRotatedFamily } from './refresh-family-helpers.js';

/** What the SQLite store adds for tokens beyond the conformance suite: the schema change and its cascades. */
describe('sqlite store: refresh families and signing keys', () => {
  let dir: string;
  let path: string;
  const opened: SqliteStore[] = [];

  function open(): SqliteStore {
    const store = createSqliteStore({ path });
    opened.push(store);
    return store;
  }

  function count(store: SqliteStore, table: string): unknown {
    return store.database.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get();
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coatcheck-store-'));
    path = join(dir, 'auth.db');
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('upgrades a version-1 database in place, keeping its users and sessions', async () => {
    const raw = new BetterSqlite3(path);
    migrate(raw, migrations.slice(0, 1));
    const user = makeUser();
    const session = makeSession(user.id, { method: 'token', secretHash: null });
    raw.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)').run(user.id, user.email, null, 'user', 'x', T0, T0);
    raw
      .prepare('INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(session.id, null, user.id, 'token', T0, T0, session.idleExpiresAt, session.absoluteExpiresAt, null, null);
    raw.close();

    const store = open();
    expect(store.database.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBe(2);
    expect(await store.users.findById(user.id)).toEqual({ ...user, passwordHash: 'x' });
    const family = makeRefreshFamily(session);
    await store.refreshFamilies.create(family);
    expect(await store.refreshFamilies.findByTokenHash(family.currentHash)).toEqual(family);
    await store.signingKeys.create(makeSigningKey());
    expect(await store.signingKeys.list()).toHaveLength(1);
  });

  it('cascades a user deleted in SQL down to the token hashes, leaving no orphan rows', async () => {
    const store = open();
    const doomed = await createRotatedFamily(store);
    const kept = await createRotatedFamily(store);
    expect(count(store, 'refresh_token_hashes')).toBe(6);
    store.database.prepare('DELETE FROM users WHERE id = ?').run(doomed.session.userId);
    expect(count(store, 'refresh_families')).toBe(1);
    expect(count(store, 'refresh_token_hashes')).toBe(3);
    expect(await store.refreshFamilies.findByTokenHash(kept.hashes[0] ?? '')).toEqual(kept.family);
  });

  it('swaps in SQL, not in a cache: a second connection sees the rotation and loses the race', async () => {
    const first = open();
    const second = open();
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
