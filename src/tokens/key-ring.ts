import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Clock } from '../core/clock.js';
import type { AuthLogger } from '../core/logger.js';
import type { SigningKeyRecord, SigningKeyStore } from '../store/types.js';
import { seal, unseal } from './seal.js';

export const JWT_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

type KeyLike = CryptoKey | Uint8Array;

export interface LoadedKey {
  kid: string;
  alg: JwtAlgorithm;
  signingKey: KeyLike;
  verificationKey: KeyLike;
  /** Public JWK as served in the JWKS; `null` for HMAC keys. */
  publicJwk: JWK | null;
  record: SigningKeyRecord;
}

export interface KeyRingOptions {
  store: SigningKeyStore;
  /** 256-bit key that seals private keys at rest. */
  sealKey: Uint8Array;
  algorithm: JwtAlgorithm;
  clock: Clock;
  /** How long a retired key must still verify: the longest access-token lifetime plus clock tolerance. */
  retireGraceMs: number;
  /**
   * A rotated-in key is published in the JWKS this long before it signs, so that verifiers holding
   * a cached JWKS (jose refetches at most every 30 s) know it before they see it.
   */
  publishDelayMs: number;
  logger: AuthLogger;
}

// Tokens naming a kid this ring does not know make it look in the store (another instance may just
// have created that key), at most once per this interval: forged kids cannot make every request a read.
const UNKNOWN_KID_RELOAD_MS = 5_000;

/** Newest first; at equal creation times a key not yet scheduled to retire is the newer one. */
function newestFirst(a: LoadedKey, b: LoadedKey): number {
  const byCreation = b.record.createdAt - a.record.createdAt;
  if (byCreation !== 0) return byCreation;
  const aRetiring = a.record.retiredAt !== null ? 1 : 0;
  const bRetiring = b.record.retiredAt !== null ? 1 : 0;
  return aRetiring - bRetiring || (a.kid < b.kid ? -1 : 1);
}

function isAlgorithm(value: string): value is JwtAlgorithm {
  return (JWT_ALGORITHMS as readonly string[]).includes(value);
}

async function generateRecord(alg: JwtAlgorithm, sealKey: Uint8Array, now: number): Promise<SigningKeyRecord> {
  const kid = randomBytes(12).toString('base64url');
  let privateJwk: JWK;
  let publicJwk: JWK | null = null;
  if (alg === 'HS256') {
    privateJwk = { kty: 'oct', k: randomBytes(32).toString('base64url') };
  } else {
    const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    privateJwk = await exportJWK(pair.privateKey);
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  }
  return {
    kid,
    alg,
    publicJwk: publicJwk ? JSON.stringify(publicJwk) : null,
    privateJwkSealed: await seal(JSON.stringify(privateJwk), sealKey),
    createdAt: now,
    retiredAt: null,
    expiresAt: null,
  };
}

/**
 * The signing keys, shared by every instance through the store and imported once (not per
 * request). The newest live key of the configured algorithm signs; every unexpired key verifies.
 */
export class KeyRing {
  readonly #options: KeyRingOptions;
  #keys = new Map<string, LoadedKey>();
  #unknownKidLookupAt = Number.NEGATIVE_INFINITY;
  #reloading: Promise<void> | undefined;

  constructor(options: KeyRingOptions) {
    this.#options = options;
  }

  /** Loads the ring, creating the first key if there is none for the configured algorithm. */
  async init(): Promise<void> {
    await this.reload();
    if (this.#candidates().length) return;
    // Instances that start together on an empty store each create a first key; each retires only
    // the keys before its own (a changed algorithm's keys, other racers' older first keys), so the
    // last one survives whatever order their calls land in. (If each retired "all but mine", two of
    // them could retire every key, and nothing would sign once the grace ran out.)
    const record = await this.#createAfterEveryKey();
    const { store, clock, retireGraceMs, publishDelayMs, logger } = this.#options;
    logger.info({ event: 'keys.created', kid: record.kid, alg: record.alg }, 'signing key created');
    const retiredAt = clock.now() + publishDelayMs;
    await store.retireOlderThan(record, retiredAt, retiredAt + retireGraceMs);
    await this.reload();
  }

  /**
   * A new key, stored, that comes after every key in the store (`createdAt` at least one past the
   * newest, should another host's clock run ahead), so that retiring the keys before it retires
   * every key that existed.
   */
  async #createAfterEveryKey(): Promise<SigningKeyRecord> {
    const { store, sealKey, algorithm, clock } = this.#options;
    const existing = await store.list();
    const newest = existing.reduce((latest, key) => Math.max(latest, key.createdAt), Number.NEGATIVE_INFINITY);
    const record = await generateRecord(algorithm, sealKey, Math.max(clock.now(), newest + 1));
    await store.create(record);
    return record;
  }

  /** Re-reads the store (keys created or retired by other instances, or by `coatcheck keys rotate`). */
  reload(): Promise<void> {
    this.#reloading ??= this.#load().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #load(): Promise<void> {
    const { store, sealKey, clock } = this.#options;
    const now = clock.now();
    const records = await store.list();
    const next = new Map<string, LoadedKey>();
    for (const record of records) {
      if (record.expiresAt !== null && record.expiresAt <= now) continue;
      if (!isAlgorithm(record.alg)) continue;
      const known = this.#keys.get(record.kid);
      if (known) {
        next.set(record.kid, { ...known, record });
        continue;
      }
      const privateJson = await unseal(record.privateJwkSealed, sealKey);
      if (privateJson === null) {
        // Sealed under another secret: this instance cannot use it (a configuration error to surface).
        this.#options.logger.error(
          { event: 'keys.unsealable', kid: record.kid },
          'signing key cannot be unsealed with COATCHECK_SECRET',
        );
        continue;
      }
      const signingKey = await importJWK(JSON.parse(privateJson) as JWK, record.alg);
      const publicJwk = record.publicJwk === null ? null : (JSON.parse(record.publicJwk) as JWK);
      const verificationKey = publicJwk ? await importJWK(publicJwk, record.alg) : signingKey;
      next.set(record.kid, { kid: record.kid, alg: record.alg, signingKey, verificationKey, publicJwk, record });
    }
    this.#keys = next;
  }

  /** Keys of the configured algorithm that have not stopped signing, newest first. */
  #candidates(): LoadedKey[] {
    const now = this.#options.clock.now();
    return [...this.#keys.values()]
      .filter(
        (key) => key.alg === this.#options.algorithm && (key.record.retiredAt === null || key.record.retiredAt > now),
      )
      .sort(newestFirst);
  }

  /**
   * The key that signs new tokens: the newest one that has been published for `publishDelayMs`,
   * else the oldest one still allowed to sign.
   */
  current(): LoadedKey {
    const now = this.#options.clock.now();
    const candidates = this.#candidates();
    // None published long enough (the first minute after first start): the longest-published one.
    const key =
      candidates.find((k) => k.record.createdAt + this.#options.publishDelayMs <= now) ??
      candidates[candidates.length - 1] ??
      // Every key retired (another instance rotated and this one has not reloaded yet): keep signing
      // with the newest rather than stop; it still verifies until its expiry.
      [...this.#keys.values()].filter((k) => k.alg === this.#options.algorithm).sort(newestFirst)[0];
    if (!key) throw new Error('coatcheck: the key ring has no signing key (init() was not awaited)');
    return key;
  }

  /** The key a token names, if it is one of ours and still valid; looks in the store once in a while. */
  async find(kid: string): Promise<LoadedKey | undefined> {
    const known = this.#keys.get(kid);
    const now = this.#options.clock.now();
    if (known) return known.record.expiresAt === null || known.record.expiresAt > now ? known : undefined;
    // Not throttled by the ring's other loads: a sibling's first key can appear just after this
    // ring loaded at start, and its tokens must not be refused until the next periodic load.
    if (now - this.#unknownKidLookupAt < UNKNOWN_KID_RELOAD_MS) return undefined;
    this.#unknownKidLookupAt = now;
    await this.reload();
    return this.#keys.get(kid);
  }

  /** Synchronous lookup among the loaded keys only. */
  peek(kid: string): LoadedKey | undefined {
    return this.#keys.get(kid);
  }

  /** The public keys, for `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] } {
    const now = this.#options.clock.now();
    const keys: JWK[] = [];
    for (const key of this.#keys.values()) {
      if (key.publicJwk && (key.record.expiresAt === null || key.record.expiresAt > now)) keys.push(key.publicJwk);
    }
    return { keys };
  }

  /**
   * Makes a new signing key, published at once and signing after `publishDelayMs`. The others stop
   * signing then, and keep verifying (and stay in the JWKS) until every token they signed has expired.
   */
  async rotate(): Promise<SigningKeyRecord> {
    const { store, clock, retireGraceMs, publishDelayMs, logger } = this.#options;
    const record = await this.#createAfterEveryKey();
    // Only the keys before it: of two rotations at once, the later key survives (see `init`).
    const retiredAt = clock.now() + publishDelayMs;
    const retired = await store.retireOlderThan(record, retiredAt, retiredAt + retireGraceMs);
    logger.info({ event: 'keys.rotated', kid: record.kid, retired }, 'signing key rotated');
    await this.reload();
    return record;
  }
}
