import { CLOCK_TOLERANCE_SECONDS } from '../tokens/access-tokens.js';
import type { RevocationEvent } from './types.js';

/**
 * The event that makes strict routes refuse a user's access tokens issued before `now` (their role
 * changed to `role`), kept while any of them can still be valid. A token's `iat` has whole seconds
 * only, so a token of the change's own second is told by its role claim: one minted right after
 * the change carries the new role and passes, one minted right before carries the old one.
 */
export function roleChangeEvent(
  userId: string,
  role: string,
  now: number,
  accessTokenTtlSeconds: number,
): RevocationEvent {
  return {
    sessionIds: [],
    users: [{ userId, notBefore: Math.floor(now / 1000) * 1000, role }],
    expiresAt: now + (accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000,
  };
}
