import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script, sent by SHA (EVALSHA) and by source only when the server does not have it yet. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

export function defineScript(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs a script atomically. Every key it names (and, where noted, every key it derives) carries the
 * same `{u:<userId>}` hash tag, so the script runs on one Cluster slot; the one exception, the
 * cookie lookup's script, has a two-read fallback for Cluster (see `readBySecret`).
 */
export async function runScript(
  redis: Redis,
  script: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    // After a restart or SCRIPT FLUSH the cache is empty: send the source once, which caches it.
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}

/** Milliseconds a Redis TTL should run: `deadline - now` plus the grace, never below 1 (0 would delete at once). */
export function ttlMs(deadline: number, now: number, graceMs: number): number {
  return Math.max(1, Math.ceil(Math.max(0, deadline - now) + graceMs));
}

/** The same rule in Lua, for deadlines only a script can see; and the earlier of two stored times. */
export const LUA_TIME = `
local function ttl(deadline, now, grace)
  local ms = math.max(0, tonumber(deadline) - tonumber(now)) + tonumber(grace)
  return string.format('%.0f', math.max(1, math.ceil(ms)))
end
local function earlier(a, b)
  if tonumber(a) <= tonumber(b) then return a end
  return b
end
`;

/**
 * Whether the hash at `key` holds exactly the field-value pairs of ARGV from `from` on: how a create
 * script tells its own earlier run (its reply lost, the script resent by ioredis after a reconnect)
 * from a record that was there before.
 */
export const LUA_SAME = `
local function same(key, from)
  if redis.call('HLEN', key) * 2 ~= #ARGV - from + 1 then return false end
  for i = from, #ARGV, 2 do
    if redis.call('HGET', key, ARGV[i]) ~= ARGV[i + 1] then return false end
  end
  return true
end
`;

/**
 * Memoised removals: \`memo(key)\` is the reply an earlier run of the same call stored at \`key\`
 * (nil if none), \`remember(key, reply)\` stores one for a minute. A removal script whose reply is
 * lost is resent by ioredis after the reconnect; without the memo that second run finds nothing
 * left and reports nothing removed, so no revocation is broadcast for what the first run removed.
 */
export const LUA_MEMO = `
local function memo(key)
  local stored = redis.call('GET', key)
  if stored then return cjson.decode(stored) end
  return nil
end
local function remember(key, reply)
  redis.call('SET', key, cjson.encode(reply), 'PX', 60000)
  return reply
end
`;

/**
 * Removes one session with its refresh family and the family's hash list, and drops it from the
 * user's set. Returns `{status, sessionId, {secretHash?}, {familyId?}, tokenHashes}`, status
 * `deleted` or `gone` (the session had already expired, but an orphaned family may still have been
 * removed), so the caller can delete the index keys in other slots. Optional values travel as
 * 0- or 1-element arrays: a Lua nil would end the reply table.
 */
export const LUA_REMOVE = `
local function remove(session, family, familyHashes, userSessions, id)
  local existed = redis.call('EXISTS', session) == 1
  local secret = redis.call('HGET', session, 'sh')
  local familyId = redis.call('HGET', family, 'id')
  local tokenHashes = redis.call('ZRANGE', familyHashes, 0, -1)
  redis.call('DEL', session, family, familyHashes)
  redis.call('ZREM', userSessions, id)
  return {existed and 'deleted' or 'gone', id, secret and {secret} or {}, familyId and {familyId} or {}, tokenHashes}
end
`;
