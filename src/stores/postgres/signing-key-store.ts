import type { SigningKeyRecord, SigningKeyStore } from '../../store/types.js';
import type { Database } from './connection.js';

interface SigningKeyRow {
  kid: string;
  alg: string;
  public_jwk: string | null;
  private_jwk_sealed: string;
  // BIGINT arrives as a string.
  created_at: string;
  retired_at: string | null;
  expires_at: string | null;
}

const columns = 'kid, alg, public_jwk, private_jwk_sealed, created_at, retired_at, expires_at';

export function createPostgresSigningKeyStore(db: Database): SigningKeyStore {
  const keys = db.table('signing_keys');
  const insert = `INSERT INTO ${keys} (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
  // A key ring holds a handful of keys, so none of these needs an index.
  const selectAll = `SELECT ${columns} FROM ${keys} ORDER BY created_at, kid COLLATE "C"`;
  // One statement, so the kids returned are exactly the keys retired, even when two instances rotate
  // at once: the second waits for the first's row locks, then finds those keys retired. Kids compare
  // bytewise (COLLATE "C"), as the key ring orders them, whatever the database's collation.
  const retireOlderThan = `UPDATE ${keys} SET retired_at = $1, expires_at = $2
    WHERE retired_at IS NULL AND (created_at < $3 OR (created_at = $3 AND kid COLLATE "C" < $4)) RETURNING kid`;
  // A NULL expires_at (a key still signing) never compares as due.
  const deleteExpired = `DELETE FROM ${keys} WHERE expires_at <= $1`;

  return {
    async list() {
      return (await db.query<SigningKeyRow>(selectAll)).rows.map(toSigningKey);
    },
    async create(key) {
      const { kid, alg, publicJwk, privateJwkSealed, createdAt, retiredAt, expiresAt } = key;
      await db.query(insert, [kid, alg, publicJwk, privateJwkSealed, createdAt, retiredAt, expiresAt]);
    },
    async retireOlderThan(newest, retiredAt, expiresAt) {
      const result = await db.query<{ kid: string }>(retireOlderThan, [
        retiredAt,
        expiresAt,
        newest.createdAt,
        newest.kid,
      ]);
      return result.rows.map((row) => row.kid);
    },
    async deleteExpired(now) {
      return (await db.query(deleteExpired, [now])).rowCount ?? 0;
    },
  };
}

function toSigningKey(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateJwkSealed: row.private_jwk_sealed,
    createdAt: Number(row.created_at),
    retiredAt: row.retired_at === null ? null : Number(row.retired_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  };
}
