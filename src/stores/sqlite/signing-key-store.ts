import type BetterSqlite3 from 'better-sqlite3';
import type { SigningKeyRecord, SigningKeyStore } from '../../store/types.js';
import type { Guard } from './create-sqlite-store.js';

interface SigningKeyRow {
  kid: string;
  alg: string;
  public_jwk: string | null;
  private_jwk_sealed: string;
  created_at: number;
  retired_at: number | null;
  expires_at: number | null;
}

const columns = 'kid, alg, public_jwk, private_jwk_sealed, created_at, retired_at, expires_at';

export function createSqliteSigningKeyStore(db: BetterSqlite3.Database, guard: Guard): SigningKeyStore {
  const insert = db.prepare<SigningKeyRecord>(
    `INSERT INTO signing_keys (${columns})
     VALUES (@kid, @alg, @publicJwk, @privateJwkSealed, @createdAt, @retiredAt, @expiresAt)`,
  );
  // A key ring holds a handful of keys, so none of these needs an index.
  const selectAll = db.prepare<[], SigningKeyRow>(`SELECT ${columns} FROM signing_keys ORDER BY created_at, kid`);
  // One statement, so the kids returned are exactly the keys retired, even when two instances rotate
  // at once. SQLite compares text bytewise, as `list` and the key ring order kids.
  const retireOlderThan = db.prepare<[number, number, number, number, string], { kid: string }>(
    `UPDATE signing_keys SET retired_at = ?, expires_at = ?
     WHERE retired_at IS NULL AND (created_at < ? OR (created_at = ? AND kid < ?)) RETURNING kid`,
  );
  // A NULL expires_at (a key still signing) never compares as due.
  const deleteExpired = db.prepare<[number]>('DELETE FROM signing_keys WHERE expires_at <= ?');

  return {
    list: () => guard(() => selectAll.all().map(toSigningKey)),
    create: (key) =>
      guard(() => {
        insert.run(key);
      }),
    retireOlderThan: (newest, retiredAt, expiresAt) =>
      guard(() =>
        retireOlderThan.all(retiredAt, expiresAt, newest.createdAt, newest.createdAt, newest.kid).map((row) => row.kid),
      ),
    deleteExpired: (now) => guard(() => deleteExpired.run(now).changes),
  };
}

function toSigningKey(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateJwkSealed: row.private_jwk_sealed,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
    expiresAt: row.expires_at,
  };
}
