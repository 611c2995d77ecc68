import type { Clock } from '../core/clock.js';
import { generateId, generateSecret, hashSecret, isWellFormedSecret } from '../core/random.js';
import type { RefreshFamilyRecord, SessionRecord, Store } from '../store/types.js';
import { deriveKey, seal, unseal } from './seal.js';

export interface RefreshTokenOptions {
  store: Store;
  clock: Clock;
  /** A rotated token presented again within this window gets the same successor, not a logout. */
  graceMs: number;
  idleTtlMs: number;
  absoluteTtlMs: number;
}

export type RefreshOutcome =
  | { kind: 'rotated'; token: string; family: RefreshFamilyRecord }
  | { kind: 'invalid' }
  | { kind: 'reused'; family: RefreshFamilyRecord };

const SUCCESSOR_PURPOSE = 'refresh-successor';

/** Deadline of a family: whichever of idle and absolute comes first. */
export function familyExpiresAt(family: RefreshFamilyRecord): number {
  return Math.min(family.idleExpiresAt, family.absoluteExpiresAt);
}

/**
 * Opaque refresh tokens, rotated on every use. Reuse of a rotated token after the grace window
 * revokes the family and its session. Inside the window, a duplicate refresh (two tabs at once)
 * receives the very same successor, so there is only ever one live chain.
 */
export class RefreshTokens {
  readonly #options: RefreshTokenOptions;

  constructor(options: RefreshTokenOptions) {
    this.#options = options;
  }

  /** Starts a family for a new token-mode session; returns the first refresh token. */
  async start(session: SessionRecord): Promise<{ token: string; family: RefreshFamilyRecord }> {
    const now = this.#options.clock.now();
    const token = generateSecret();
    const family: RefreshFamilyRecord = {
      id: generateId('rfm'),
      sessionId: session.id,
      userId: session.userId,
      currentHash: hashSecret(token),
      previousHash: null,
      successorSealed: null,
      rotatedAt: null,
      generation: 0,
      createdAt: now,
      lastUsedAt: now,
      idleExpiresAt: now + this.#options.idleTtlMs,
      absoluteExpiresAt: Math.min(now + this.#options.absoluteTtlMs, session.absoluteExpiresAt),
    };
    await this.#options.store.refreshFamilies.create(family);
    return { token, family };
  }

  /** The family a refresh token belongs to, if the token is well formed and known (any generation). */
  async lookup(token: string): Promise<RefreshFamilyRecord | null> {
    if (!isWellFormedSecret(token)) return null;
    return this.#options.store.refreshFamilies.findByTokenHash(hashSecret(token));
  }

  async rotate(token: string): Promise<RefreshOutcome> {
    if (!isWellFormedSecret(token)) return { kind: 'invalid' };
    const { store, clock, graceMs, idleTtlMs } = this.#options;
    const hash = hashSecret(token);
    // Two passes at most: if a concurrent rotation wins the compare-and-swap, re-read and take
    // the grace path with the successor it sealed.
    for (let attempt = 0; attempt < 2; attempt++) {
      const family = await store.refreshFamilies.findByTokenHash(hash);
      if (!family) return { kind: 'invalid' };
      const now = clock.now();
      if (familyExpiresAt(family) <= now) return { kind: 'invalid' };

      if (family.currentHash === hash) {
        const next = generateSecret();
        const rotated = await store.refreshFamilies.rotate(family.id, hash, {
          currentHash: hashSecret(next),
          previousHash: hash,
          successorSealed: await seal(next, deriveKey(token, SUCCESSOR_PURPOSE)),
          rotatedAt: now,
          lastUsedAt: now,
          idleExpiresAt: Math.min(now + idleTtlMs, family.absoluteExpiresAt),
        });
        if (rotated) {
          const updated = await store.refreshFamilies.findById(family.id);
          return updated ? { kind: 'rotated', token: next, family: updated } : { kind: 'invalid' };
        }
        continue;
      }

      const withinGrace = family.previousHash === hash && family.rotatedAt !== null && now - family.rotatedAt < graceMs;
      if (withinGrace && family.successorSealed) {
        const successor = await unseal(family.successorSealed, deriveKey(token, SUCCESSOR_PURPOSE));
        if (successor !== null) return { kind: 'rotated', token: successor, family };
      }
      return { kind: 'reused', family };
    }
    return { kind: 'invalid' };
  }
}
