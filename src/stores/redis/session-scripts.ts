import { defineScript, LUA_MEMO, LUA_REMOVE, LUA_SAME, LUA_TIME } from './script.js';

/**
 * KEYS: session, userSessions. ARGV: sessionId, createdAt, session TTL, userSessions TTL, fields…
 * The user's set lives as long as its longest-lived session. Returns 1, or 0 when a session with
 * this id exists already; a session that holds exactly these fields is this create's own, written
 * by a first run whose reply was lost: 1, so the caller keeps its index entries.
 */
export const createSessionScript = defineScript(`${LUA_SAME}
if redis.call('EXISTS', KEYS[1]) == 1 then return same(KEYS[1], 5) and 1 or 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return 1
`);

/** KEYS: session. ARGV: lastSeenAt, idleExpiresAt, now, grace. Returns the new deadline, or nil when gone. */
export const touchScript = defineScript(`${LUA_TIME}
local absolute = redis.call('HGET', KEYS[1], 'ae')
if not absolute then return false end
redis.call('HSET', KEYS[1], 'ls', ARGV[1], 'ie', ARGV[2])
local deadline = earlier(ARGV[2], absolute)
redis.call('PEXPIRE', KEYS[1], ttl(deadline, ARGV[3], ARGV[4]))
return deadline
`);

/**
 * KEYS: session, family, familyHashes, userSessions, removalMemo. ARGV: sessionId, and optionally
 * now: then the session is removed only if its deadline is at or before now, else
 * \`{'alive', deadline}\` comes back. A removal on request is remembered (see \`LUA_MEMO\`).
 */
export const removeSessionScript = defineScript(`${LUA_TIME}${LUA_REMOVE}${LUA_MEMO}
local done = memo(KEYS[5])
if done then return done end
if ARGV[2] then
  local times = redis.call('HMGET', KEYS[1], 'ie', 'ae')
  if times[1] and times[2] then
    local deadline = earlier(times[1], times[2])
    if tonumber(deadline) > tonumber(ARGV[2]) then return {'alive', deadline} end
  end
end
local removal = remove(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
-- Not for the purge (now given): it reports only a count, and would leave a key per session.
if removal[1] == 'deleted' and not ARGV[2] then remember(KEYS[5], removal) end
return removal
`);

/**
 * KEYS: userSessions, removalMemo. ARGV: the user's key prefix, and optionally the id to spare.
 * Removes every other session of the user, as \`remove\` does, in one step, and remembers what it
 * removed (see \`LUA_MEMO\`). The session keys are derived from the set's members: they share the
 * user's hash tag, so they are in KEYS[1]'s slot, which is what lets this run in one round trip on
 * Redis Cluster too.
 */
export const deleteUserSessionsScript = defineScript(`${LUA_REMOVE}${LUA_MEMO}
local done = memo(KEYS[2])
if done then return done end
local removed = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    local user = ARGV[1]
    removed[#removed + 1] = remove(user .. 'ses:' .. id, user .. 'rf:' .. id, user .. 'rfh:' .. id, KEYS[1], id)
  end
end
if #removed > 0 then remember(KEYS[2], removed) end
return removed
`);

/** KEYS: userSessions. ARGV: the user's key prefix. Returns \`{id, {field, value, …}}\` per live session. */
export const listUserSessionsScript = defineScript(`
local sessions = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fields = redis.call('HGETALL', ARGV[1] .. 'ses:' .. id)
  if #fields > 0 then sessions[#sessions + 1] = {id, fields} end
end
return sessions
`);

/**
 * KEYS: secretIndex. ARGV: the session key's parts around the user id and the session id (see
 * \`Keys.sessionKeyParts\`). Returns \`{ref, fields}\` of the session the index entry names, or nil.
 * The session key is derived, not declared, and lives in another slot: this is the one script that
 * Redis Cluster refuses, so the store falls back to two reads there (see \`readBySecret\`).
 */
export const findBySecretScript = defineScript(`
local ref = redis.call('GET', KEYS[1])
if not ref then return false end
local at = string.find(ref, ':[^:]*$')
if not at or at == 1 or at == #ref then return {ref, {}} end
return {ref, redis.call('HGETALL', ARGV[1] .. string.sub(ref, 1, at - 1) .. ARGV[2] .. string.sub(ref, at + 1))}
`);
