import type { Redis } from 'ioredis';
import type { Clock } from '../../core/clock.js';
import { bestEffort, callerBug, type Run } from './connection.js';
import { encodeRef, type Keys, type SessionRef } from './keys.js';
import { strings } from './records.js';

/** What the session and refresh-family stores share. */
export interface RedisContext {
  redis: Redis;
  keys: Keys;
  clock: Clock;
  /** How long a record outlives its deadline before Redis's own expiry removes it. */
  graceMs: number;
  run: Run;
}

/** What a removal script reports about one session, so its index keys (other slots) can go too. */
export interface Removal {
  deleted: boolean;
  sessionId: string;
  secretHash: string | null;
  familyId: string | null;
  tokenHashes: string[];
}

export function toRemoval(reply: unknown): Removal {
  if (!Array.isArray(reply) || reply.length !== 5) throw new Error('Unexpected reply from Redis');
  const [status, sessionId, secretHash, familyId, tokenHashes] = reply as unknown[];
  if (typeof sessionId !== 'string') throw new Error('Unexpected reply from Redis');
  return {
    deleted: status === 'deleted',
    sessionId,
    secretHash: strings(secretHash)[0] ?? null,
    familyId: strings(familyId)[0] ?? null,
    tokenHashes: strings(tokenHashes),
  };
}

/**
 * Takes index keys that must be unique (`SET NX`), all or none: when one is taken, releases the
 * others and rejects as the caller's bug. The keys are in other slots than the record, so this
 * runs before the record's script, and the caller releases them if that script refuses.
 */
export async function claimAll(
  { redis }: RedisContext,
  claims: [key: string, value: string][],
  ttl: number,
  conflict: string,
): Promise<void> {
  const results = await Promise.allSettled(claims.map(([key, value]) => redis.set(key, value, 'PX', ttl, 'NX')));
  if (results.every((result) => result.status === 'fulfilled' && result.value === 'OK')) return;
  const ours = claims.filter((_, index) => {
    const result = results[index];
    return result?.status === 'fulfilled' && result.value === 'OK';
  });
  await release({ redis }, ours);
  const failure = results.find((result) => result.status === 'rejected');
  throw failure ? failure.reason : callerBug(conflict);
}

/** Gives back claims this call took. A release that fails leaves a stale entry: harmless, see `dropIndexes`. */
export function release({ redis }: Pick<RedisContext, 'redis'>, claims: [key: string, value: string][]): Promise<void> {
  return bestEffort(claims.map(([key]) => redis.del(key)));
}

/**
 * Deletes the index keys of a removed session and its family. They live in other slots, so this
 * cannot be part of the removal script; if it is lost (a crash, a dropped connection), every lookup
 * still checks the record the entry points at, so a stale entry finds nothing, and its TTL (the
 * record's absolute deadline plus grace) removes it.
 */
export function dropIndexes({ redis, keys }: RedisContext, userId: string, removal: Removal): Promise<void> {
  const ref: SessionRef = { userId, sessionId: removal.sessionId };
  const doomed = [keys.sessionIndex(removal.sessionId), ...removal.tokenHashes.map((hash) => keys.tokenIndex(hash))];
  if (removal.secretHash !== null) doomed.push(keys.secretIndex(removal.secretHash));
  if (removal.familyId !== null) doomed.push(keys.familyIndex(removal.familyId));
  return bestEffort([...doomed.map((key) => redis.del(key)), redis.zrem(keys.expiry, encodeRef(ref))]);
}
