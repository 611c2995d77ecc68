import { randomBytes } from 'node:crypto';
import type { SessionRecord, SessionStore } from '../../store/types.js';
import { callerBug } from './connection.js';
import { claimAll, dropIndexes, release, toRemoval, type RedisContext } from './context.js';
import { checkId, decodeRef, encodeRef, type SessionRef } from './keys.js';
import { sessionFields, strings, toFields, toSession } from './records.js';
import { runScript, ttlMs } from './script.js';
import {
  createSessionScript,
  deleteUserSessionsScript,
  findBySecretScript,
  listUserSessionsScript,
  removeSessionScript,
  touchScript,
} from './session-scripts.js';

/** Due sessions handled per round of `deleteExpired`, each its own small script. */
const EXPIRY_BATCH = 200;

export function createRedisSessionStore(context: RedisContext): SessionStore {
  const { redis, keys, clock, graceMs, run } = context;

  async function read(ref: SessionRef): Promise<SessionRecord | null> {
    return toSession(ref, await redis.hgetall(keys.of(ref).session));
  }

  async function refOf(sessionId: string): Promise<SessionRef | null> {
    const userId = await redis.get(keys.sessionIndex(sessionId));
    return userId === null ? null : { userId, sessionId };
  }

  // The cookie check runs on every request: one round trip (a script that follows the index entry)
  // instead of two, until Redis refuses the script for reading across slots (Redis Cluster, a proxy
  // that enforces Cluster's rules); from then on, the index and the session are read apart.
  let followIndexInScript = true;

  async function readBySecret(secretHash: string): Promise<SessionRecord | null> {
    const index = keys.secretIndex(secretHash);
    if (followIndexInScript) {
      try {
        const reply = await runScript(redis, findBySecretScript, [index], keys.sessionKeyParts);
        if (reply === null) return null;
        // Anything but {ref, fields} is not our script's answer: a failure, never "no session".
        if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== 'string') {
          throw new Error('Unexpected reply from Redis');
        }
        const ref = decodeRef(reply[0]);
        return ref === null ? null : toSession(ref, toFields(reply[1]));
      } catch (error) {
        if (!isCrossSlotRefusal(error)) throw error;
        followIndexInScript = false;
      }
    }
    const ref = decodeRef(await redis.get(index));
    return ref === null ? null : read(ref);
  }

  /** Removes the session (only if due at `now`, when given); 'alive' carries its real deadline. */
  async function remove(ref: SessionRef, now?: number): Promise<boolean | { alive: string }> {
    const sessionKeys = keys.of(ref);
    const reply = await runScript(
      redis,
      removeSessionScript,
      [
        sessionKeys.session,
        sessionKeys.family,
        sessionKeys.familyHashes,
        sessionKeys.userSessions,
        keys.removalMemo(ref.userId, nonce()),
      ],
      now === undefined ? [ref.sessionId] : [ref.sessionId, now],
    );
    if (Array.isArray(reply) && reply[0] === 'alive') return { alive: strings(reply)[1] ?? '' };
    const removal = toRemoval(reply);
    await dropIndexes(context, ref.userId, removal);
    return removal.deleted;
  }

  return {
    create: (session) =>
      run(async () => {
        checkId(session.id, 'session id');
        const ref = { userId: session.userId, sessionId: session.id };
        const now = clock.now();
        const deadline = Math.min(session.idleExpiresAt, session.absoluteExpiresAt);
        // Index entries live until the absolute deadline, which never moves; the session key
        // until its current deadline, which `touch` moves.
        const indexTtl = ttlMs(session.absoluteExpiresAt, now, graceMs);
        const claims: [string, string][] = [[keys.sessionIndex(session.id), session.userId]];
        if (session.secretHash !== null) claims.push([keys.secretIndex(session.secretHash), encodeRef(ref)]);
        await claimAll(context, claims, indexTtl, 'A session with this id or secret hash already exists');
        const sessionKeys = keys.of(ref);
        const created = await runScript(
          redis,
          createSessionScript,
          [sessionKeys.session, sessionKeys.userSessions],
          [session.id, session.createdAt, ttlMs(deadline, now, graceMs), indexTtl, ...sessionFields(session)],
        ).catch(async (error: unknown) => {
          await release(context, claims);
          throw error;
        });
        if (created !== 1) {
          await release(context, claims);
          throw callerBug('A session with this id already exists');
        }
        // After the session exists, so `deleteExpired` never meets its entry before the session.
        await redis.zadd(keys.expiry, deadline, encodeRef(ref));
      }),

    findById: (id) =>
      run(async () => {
        const ref = await refOf(id);
        return ref === null ? null : read(ref);
      }),

    findBySecretHash: (secretHash) =>
      run(async () => {
        const session = await readBySecret(secretHash);
        // The session itself must carry the hash: a stale index entry finds nothing.
        return session?.secretHash === secretHash ? session : null;
      }),

    touch: (id, { lastSeenAt, idleExpiresAt }) =>
      run(async () => {
        const ref = await refOf(id);
        if (ref === null) return false;
        const deadline = await runScript(
          redis,
          touchScript,
          [keys.of(ref).session],
          [lastSeenAt, idleExpiresAt, clock.now(), graceMs],
        );
        if (typeof deadline !== 'string') return false;
        await redis.zadd(keys.expiry, deadline, encodeRef(ref));
        return true;
      }),

    listByUser: (userId) =>
      run(async () => {
        const reply = await runScript(
          redis,
          listUserSessionsScript,
          [keys.userSessions(userId)],
          [keys.userPrefix(userId)],
        );
        if (!Array.isArray(reply)) throw new Error('Unexpected reply from Redis');
        return (reply as unknown[])
          .map((entry) => {
            const [sessionId, fields] = Array.isArray(entry) ? (entry as unknown[]) : [];
            if (typeof sessionId !== 'string') throw new Error('Unexpected reply from Redis');
            return toSession({ userId, sessionId }, toFields(fields));
          })
          .filter((session): session is SessionRecord => session !== null)
          .sort(byCreatedAtThenId);
      }),

    delete: (id) =>
      run(async () => {
        const ref = await refOf(id);
        return ref === null ? false : (await remove(ref)) === true;
      }),

    deleteByUser: (userId, options = {}) =>
      run(async () => {
        const { exceptId } = options;
        const reply = await runScript(
          redis,
          deleteUserSessionsScript,
          [keys.userSessions(userId), keys.removalMemo(userId, nonce())],
          exceptId === undefined ? [keys.userPrefix(userId)] : [keys.userPrefix(userId), exceptId],
        );
        if (!Array.isArray(reply)) throw new Error('Unexpected reply from Redis');
        const removals = (reply as unknown[]).map(toRemoval);
        await Promise.all(removals.map((removal) => dropIndexes(context, userId, removal)));
        return removals.filter((removal) => removal.deleted).map((removal) => removal.sessionId);
      }),

    deleteExpired: (now) =>
      run(async () => {
        let count = 0;
        // Each round takes entries due at `now` and removes them from the schedule (or reschedules
        // a session that `touch` extended), so the loop ends. The schedule is only a hint: the
        // script decides on the session's own deadlines.
        for (;;) {
          const due = await redis.zrangebyscore(keys.expiry, '-inf', now, 'LIMIT', 0, EXPIRY_BATCH);
          if (due.length === 0) return count;
          const outcomes = await Promise.all(
            due.map(async (entry) => {
              const ref = decodeRef(entry);
              const outcome = ref === null ? false : await remove(ref, now);
              if (typeof outcome === 'object') await redis.zadd(keys.expiry, outcome.alive, entry);
              else await redis.zrem(keys.expiry, entry);
              return outcome === true;
            }),
          );
          count += outcomes.filter(Boolean).length;
        }
      }),
  };
}

/**
 * Redis Cluster (and proxies in front of one) refuse a script that reaches a key in another slot;
 * some Redis-compatible servers refuse any key a script did not declare.
 */
function isCrossSlotRefusal(error: unknown): boolean {
  return error instanceof Error && /CROSSSLOT|hash to the same slot|non local key|undeclared key/i.test(error.message);
}

/** Names one removal call, so a resent script finds its own earlier run (see `Keys.removalMemo`). */
function nonce(): string {
  return randomBytes(12).toString('base64url');
}

function byCreatedAtThenId(a: SessionRecord, b: SessionRecord): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
