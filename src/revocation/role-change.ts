import { CLOCK_TOLERANCE_SECONDS } from '../tokens/access-tokens.js';
import type { RevocationEvent } from './types.js';

/**
 * The event that makes strict routes refuse a user's access tokens issued before `now` (their role
 * changed), kept while any of them can still be valid. Whole seconds: a token's `iat` has no finer
 * grain, and one minted right after must pass.
 */
export function roleChangeEvent(userId: string, now: number, accessTokenTtlSeconds: number): RevocationEvent {
  return {
    sessionIds: [],
    users: [{ userId, notBefore: Math.floor(now / 1000) * 1000 }],
    expiresAt: now + (accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000,
  };
}
