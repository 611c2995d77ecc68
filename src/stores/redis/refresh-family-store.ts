import type { RefreshFamilyRecord, RefreshFamilyStore } from '../../store/types.js';
import { bestEffort, callerBug } from './connection.js';
import { claimAll, release, type RedisContext } from './context.js';
import { checkId, decodeRef, encodeRef, type SessionRef } from './keys.js';
import { createFamilyScript, findFamilyScript, rotateScript } from './family-scripts.js';
import { familyFields, rotationFields, toFamily, toFields } from './records.js';
import { runScript, ttlMs } from './script.js';

/**
 * Refresh families in Redis. A family is stored beside its session (`rf:<sessionId>`, with its hash
 * list `rfh:<sessionId>`) in its user's slot, so deleting a session removes both in the same script.
 * Two index keys, in other slots, find it: `fid:<familyId>` and `rth:<tokenHash>` (one per hash it
 * ever had), both holding the session ref.
 */
export function createRedisRefreshFamilyStore(context: RedisContext): RefreshFamilyStore {
  const { redis, keys, clock, graceMs, run } = context;

  async function find(ref: SessionRef | null, by: 'id' | 'hash', value: string): Promise<RefreshFamilyRecord | null> {
    if (ref === null) return null;
    const { family, familyHashes, session } = keys.of(ref);
    const reply = await runScript(redis, findFamilyScript, [family, familyHashes, session], [by, value]);
    return reply === null ? null : toFamily(ref, toFields(reply));
  }

  return {
    create: (family) =>
      run(async () => {
        checkId(family.id, 'refresh family id');
        checkId(family.sessionId, 'session id');
        const ref = { userId: family.userId, sessionId: family.sessionId };
        const now = clock.now();
        // The index keys outlive every idle extension: a token rotated long ago must still find
        // the family (to reveal reuse) until the family's absolute deadline.
        const claims: [string, string][] = [
          [keys.familyIndex(family.id), encodeRef(ref)],
          [keys.tokenIndex(family.currentHash), encodeRef(ref)],
        ];
        const indexTtl = ttlMs(family.absoluteExpiresAt, now, graceMs);
        await claimAll(context, claims, indexTtl, 'A refresh family with this id or token hash already exists');
        const { session, family: familyKey, familyHashes } = keys.of(ref);
        const deadline = Math.min(family.idleExpiresAt, family.absoluteExpiresAt);
        const outcome = await runScript(
          redis,
          createFamilyScript,
          [session, familyKey, familyHashes],
          [ttlMs(deadline, now, graceMs), family.currentHash, family.generation, ...familyFields(family)],
        ).catch(async (error: unknown) => {
          await release(context, claims);
          throw error;
        });
        if (outcome === 'ok') return;
        await release(context, claims);
        throw callerBug(
          outcome === 'taken'
            ? 'The session already has a refresh family'
            : 'The refresh family names an unknown session',
        );
      }),

    findById: (id) => run(async () => find(decodeRef(await redis.get(keys.familyIndex(id))), 'id', id)),

    findByTokenHash: (tokenHash) =>
      run(async () => find(decodeRef(await redis.get(keys.tokenIndex(tokenHash))), 'hash', tokenHash)),

    rotate: (familyId, expectedCurrentHash, next) =>
      run(async () => {
        const familyIndex = keys.familyIndex(familyId);
        // The family index expires at the family's absolute deadline: the new hash's index takes
        // the same remaining time.
        const [value, remainingMs] = await Promise.all([redis.get(familyIndex), redis.pttl(familyIndex)]);
        const ref = decodeRef(value);
        if (ref === null) return false;
        const { family, familyHashes } = keys.of(ref);
        const tokenIndex = keys.tokenIndex(next.currentHash);
        const claimed =
          remainingMs > 0
            ? await redis.set(tokenIndex, encodeRef(ref), 'PX', remainingMs, 'NX')
            : await redis.set(tokenIndex, encodeRef(ref), 'NX');
        if (claimed !== 'OK') {
          // A rotation that would lose the compare anyway is refused as such, not as a conflict.
          const [id, currentHash] = await redis.hmget(family, 'id', 'ch');
          if (id !== familyId || currentHash !== expectedCurrentHash) return false;
          throw callerBug('This token hash is already indexed');
        }
        /** Deletes the new hash's index unless the family moved to that hash; whether it deleted. */
        const dropIndexUnlessSwapped = async (): Promise<boolean> => {
          if ((await redis.hget(family, 'ch')) === next.currentHash) return false;
          await redis.del(tokenIndex);
          return true;
        };
        const swapped = await runScript(
          redis,
          rotateScript,
          [family, familyHashes],
          [
            familyId,
            expectedCurrentHash,
            next.currentHash,
            next.idleExpiresAt,
            clock.now(),
            graceMs,
            ...rotationFields(next),
          ],
        ).catch(async (error: unknown) => {
          // The script may have run with only its reply lost: the index goes only if it did not.
          await bestEffort([dropIndexUnlessSwapped()]);
          throw error;
        });
        if (swapped === 1) return true;
        // 0 from a script resent after a lost reply means its first run did the swap: our hash is
        // random, so a family holding it was moved by us. Anything else lost the race.
        return !(await dropIndexUnlessSwapped());
      }),
  };
}
