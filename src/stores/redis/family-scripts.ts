import { defineScript, LUA_SAME, LUA_TIME } from './script.js';

/**
 * The family's hash list is a sorted set scored by generation: unlike a set of strings before Redis
 * 7.2, it keeps the compact listpack encoding up to 128 entries (112 bytes for one hash, not 208).
 *
 * KEYS: session, family, familyHashes. ARGV: TTL, currentHash, generation, fields… Returns `ok`, or why it
 * refused: `no-session` (also when the session belongs to another user: its key is not in this
 * user's slot) or `taken` (the session already has a family). A family that holds exactly these
 * fields and hash is this create's own, written by a first run whose reply was lost: `ok`.
 */
export const createFamilyScript = defineScript(`${LUA_SAME}
if redis.call('EXISTS', KEYS[1]) == 0 then return 'no-session' end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if same(KEYS[2], 4) and redis.call('ZSCORE', KEYS[3], ARGV[2]) then return 'ok' end
  return 'taken'
end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return 'ok'
`);

/**
 * KEYS: family, familyHashes, session. ARGV: 'id' or 'hash', and the family id or token hash. The
 * family's fields, or nil when it is gone, is not the one named, never had that hash, or its
 * session is gone (Redis expired the session before the family: the cascade still holds).
 */
export const findFamilyScript = defineScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
if ARGV[1] == 'id' then
  if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then return false end
elseif not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  return false
end
return redis.call('HGETALL', KEYS[1])
`);

/**
 * KEYS: family, familyHashes. ARGV: familyId, expectedCurrentHash, newHash, idleExpiresAt, now,
 * grace, fields… The compare and the swap are one script, so of concurrent rotations of one token
 * exactly one sees its expected hash and wins. Returns 1 when it swapped, else 0. The pieces of the
 * values it replaces (`ss+1`, …; see records.ts) go first, so a shorter value leaves none behind.
 */
export const rotateScript = defineScript(`${LUA_TIME}
local current = redis.call('HMGET', KEYS[1], 'id', 'ch', 'ae')
if current[1] ~= ARGV[1] or current[2] ~= ARGV[2] then return 0 end
local replaced = {}
for i = 7, #ARGV, 2 do replaced[ARGV[i]] = true end
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local base = string.match(field, '^(.-)%+%d+$')
  if base and replaced[base] then redis.call('HDEL', KEYS[1], field) end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
local generation = redis.call('HINCRBY', KEYS[1], 'g', 1)
redis.call('ZADD', KEYS[2], generation, ARGV[3])
local expires = ttl(earlier(ARGV[4], current[3]), ARGV[5], ARGV[6])
redis.call('PEXPIRE', KEYS[1], expires)
redis.call('PEXPIRE', KEYS[2], expires)
return 1
`);
