import type { RefreshFamilyRecord, RotateRefreshFamily, SessionRecord } from '../../store/types.js';
import type { SessionRef } from './keys.js';

/**
 * Records as Redis hashes: short field names (they are stored once per record), numbers as decimal
 * strings, and `null` as an absent field, so a record reads back exactly as it was written. The id
 * and user id are not stored: the key names them.
 *
 * Redis keeps a hash in its compact listpack encoding only while every value fits in
 * `hash-max-listpack-value` (64 bytes by default): one browser user agent or sealed successor token
 * would turn the whole hash into a hashtable, about twice the memory (measured with a 90-byte user
 * agent: 752 bytes against 392, key name included). So a longer string is stored in pieces of at
 * most 64 bytes, `ua`, `ua+1`, …, and the hash stays a listpack. Only fields no script reads are
 * split (the scripts compare ids, hashes and deadlines as whole values).
 */
type Fields = Record<string, string>;

const PIECE_BYTES = 64;
const PIECED_FIELDS: ReadonlySet<string> = new Set(['ua', 'ip', 'ph', 'ss']);

export function sessionFields(session: SessionRecord): string[] {
  return pairs({
    sh: session.secretHash,
    m: session.method,
    c: session.createdAt,
    ls: session.lastSeenAt,
    ie: session.idleExpiresAt,
    ae: session.absoluteExpiresAt,
    ua: session.userAgent,
    ip: session.ip,
  });
}

export function toSession(ref: SessionRef, fields: Fields): SessionRecord | null {
  if (Object.keys(fields).length === 0) return null;
  const method = fields.m;
  if (method !== 'session' && method !== 'token') throw new Error('A stored session has no valid method');
  return {
    id: ref.sessionId,
    secretHash: text(fields, 'sh'),
    userId: ref.userId,
    method,
    createdAt: number(fields.c),
    lastSeenAt: number(fields.ls),
    idleExpiresAt: number(fields.ie),
    absoluteExpiresAt: number(fields.ae),
    userAgent: text(fields, 'ua'),
    ip: text(fields, 'ip'),
  };
}

export function familyFields(family: RefreshFamilyRecord): string[] {
  return pairs({
    id: family.id,
    ch: family.currentHash,
    ph: family.previousHash,
    ss: family.successorSealed,
    ra: family.rotatedAt,
    g: family.generation,
    c: family.createdAt,
    lu: family.lastUsedAt,
    ie: family.idleExpiresAt,
    ae: family.absoluteExpiresAt,
  });
}

/** The fields a rotation replaces; the generation is incremented by the script itself. */
export function rotationFields(next: RotateRefreshFamily): string[] {
  return pairs({
    ch: next.currentHash,
    ph: next.previousHash,
    ss: next.successorSealed,
    ra: next.rotatedAt,
    lu: next.lastUsedAt,
    ie: next.idleExpiresAt,
  });
}

export function toFamily(ref: SessionRef, fields: Fields): RefreshFamilyRecord | null {
  const id = text(fields, 'id');
  const ch = text(fields, 'ch');
  if (id === null) return null;
  if (ch === null) throw new Error('A stored refresh family has no current hash');
  return {
    id,
    sessionId: ref.sessionId,
    userId: ref.userId,
    currentHash: ch,
    previousHash: text(fields, 'ph'),
    successorSealed: text(fields, 'ss'),
    rotatedAt: fields.ra === undefined ? null : number(fields.ra),
    generation: number(fields.g),
    createdAt: number(fields.c),
    lastUsedAt: number(fields.lu),
    idleExpiresAt: number(fields.ie),
    absoluteExpiresAt: number(fields.ae),
  };
}

/** A flat `[field, value, …]` reply (HGETALL inside a script) as an object. */
export function toFields(reply: unknown): Fields {
  const flat = strings(reply);
  const fields: Fields = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}

/** A script reply that must be an array of strings; anything else means the data is not ours. */
export function strings(reply: unknown): string[] {
  if (!Array.isArray(reply) || !reply.every((item) => typeof item === 'string')) {
    throw new Error('Unexpected reply from Redis');
  }
  return reply;
}

function pairs(record: Record<string, string | number | null>): string[] {
  const flat: string[] = [];
  for (const [field, value] of Object.entries(record)) {
    if (value === null) continue;
    const parts = PIECED_FIELDS.has(field) ? pieces(String(value)) : [String(value)];
    parts.forEach((piece, index) => flat.push(index === 0 ? field : `${field}+${index}`, piece));
  }
  return flat;
}

/** Splits between characters, never inside one, so each piece is valid UTF-8 on its own. */
function pieces(value: string): string[] {
  if (Buffer.byteLength(value) <= PIECE_BYTES) return [value];
  const result = [''];
  let bytes = 0;
  for (const char of value) {
    const size = Buffer.byteLength(char);
    if (bytes + size > PIECE_BYTES) {
      result.push('');
      bytes = 0;
    }
    result[result.length - 1] += char;
    bytes += size;
  }
  return result;
}

/** A string field put back together from its pieces, or `null` when absent. */
function text(fields: Fields, field: string): string | null {
  let value = fields[field];
  if (value === undefined) return null;
  for (let index = 1; fields[`${field}+${index}`] !== undefined; index++) value += fields[`${field}+${index}`];
  return value;
}

function number(value: string | undefined): number {
  const parsed = value === undefined || value === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(parsed)) throw new Error('A stored record has a malformed number');
  return parsed;
}
