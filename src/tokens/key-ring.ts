import { importJWK, type JWK } from 'jose';
import type { Clock } from '../core/clock.js';
import type { AuthLogger } from '../core/logger.js';
import type { SigningKeyRecord, SigningKeyStore } from '../store/types.js';
import { generateKeyRecord } from './generate-key-record.js';
import { isAlgorithm, type JwtAlgorithm } from './jwt-algorithm.js';
import { chooseSigningKey, MAX_FOLLOWED_SKEW_MS, signingCandidates } from './signing-key-choice.js';
import { unseal } from './seal.js';
import { sealedElsewhere } from './sealed-elsewhere.js';
import type { Rotation } from './rotation.js';
import { refuseOtherAlgorithm } from './stored-signing-key.js';
import { UnreadableSigningKeysError } from './unreadable-signing-keys-error.js';
import { UnsealableKeyReports } from './unsealable-key-reports.js';

export { JWT_ALGORITHMS, type JwtAlgorithm } from './jwt-algorithm.js';
export type { Rotation } from './rotation.js';

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

/**
 * The signing keys, shared by every instance through the store and imported once (not per
 * request). The newest live key of the configured algorithm signs; every unexpired key verifies.
 */
export class KeyRing {
  readonly #options: KeyRingOptions;
  #keys = new Map<string, LoadedKey>();
  #unknownKidLookupAt = Number.NEGATIVE_INFINITY;
  #reloading: Promise<void> | undefined;
  readonly #unsealable: UnsealableKeyReports;

  constructor(options: KeyRingOptions) {
    this.#options = options;
    this.#unsealable = new UnsealableKeyReports(options.logger);
  }

  /**
   * Loads the ring, creating the first key if there is none for the configured algorithm. Rejects
   * with `UnreadableSigningKeysError` while the store holds keys still signing that this secret
   * cannot unseal: before anything is written, in the retirement's own read (see there), and at
   * the end; and with `OtherAlgorithmError` while the store's current key is of another algorithm,
   * before anything is written and at the end. Instances on two secrets (or algorithms) starting at
   * once on an empty store may then refuse, each leaving its key: loud, and no running instance
   * loses the key it signs with (deleting a key it made could take it from a sibling that has
   * already adopted it).
   */
  async init(): Promise<void> {
    await this.reload();
    await this.#refuseUnreadableKeys();
    await refuseOtherAlgorithm(this.#options);
    let own: SigningKeyRecord | undefined;
    if (!this.#candidates().length) {
      own = await this.#createAfterEveryKey({ replacing: false });
      this.#options.logger.info({ event: 'keys.created', kid: own.kid, alg: own.alg }, 'signing key created');
    }
    // Also when a key exists: an earlier start may have created its key and failed to retire the rest.
    const retired = await this.#retireAllButTheLast({ own, replacing: false });
    if (retired.length) this.#options.logger.info({ event: 'keys.retired', retired }, 'signing keys retired');
    await this.reload();
    await this.#refuseUnreadableKeys();
    await refuseOtherAlgorithm(this.#options);
  }

  /**
   * How many of the store's keys still signing (not retiring, unexpired, of an algorithm this
   * version knows) this ring's secret cannot unseal. A sibling's key made since the last load, which
   * it can unseal, is loaded instead of counted.
   */
  async unreadableKeysStillSigning(): Promise<number> {
    return (await this.unreadableSigningKeys()).length;
  }

  /** The keys `unreadableKeysStillSigning` counts, in the store's order: what a replacement retires. */
  async unreadableSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.#unreadable(await this.#options.store.list());
  }

  async #unreadable(records: readonly SigningKeyRecord[]): Promise<SigningKeyRecord[]> {
    const { sealKey, clock } = this.#options;
    const now = clock.now();
    const notLoaded = records.filter(
      (key) =>
        key.retiredAt === null &&
        (key.expiresAt === null || key.expiresAt > now) &&
        isAlgorithm(key.alg) &&
        !this.#keys.has(key.kid),
    );
    const unreadable: SigningKeyRecord[] = [];
    for (const key of notLoaded) if ((await unseal(key.privateJwkSealed, sealKey)) === null) unreadable.push(key);
    if (unreadable.length < notLoaded.length) {
      // A load already under way may have read the store before that key was made.
      await this.#reloading;
      await this.reload();
    }
    return unreadable;
  }

  async #refuseUnreadableKeys(): Promise<void> {
    const unreadable = await this.unreadableKeysStillSigning();
    if (unreadable > 0) throw new UnreadableSigningKeysError(unreadable);
  }

  /**
   * A new key, stored, dated after every stored key (up to `MAX_FOLLOWED_SKEW_MS` ahead of this
   * host's clock), so that retiring the keys before it retires every key that existed. When
   * `replacing` another secret's keys, also after those however far ahead a fast clock dated them:
   * a retirement only reaches keys before the last, and only the last key is safe from every ring.
   */
  async #createAfterEveryKey({ replacing }: { replacing: boolean }): Promise<SigningKeyRecord> {
    const { store, sealKey, algorithm, clock } = this.#options;
    const now = clock.now();
    const keys = await store.list();
    const followed = new Set(replacing ? (await this.#unreadable(keys)).map((key) => key.kid) : []);
    let newest = Number.NEGATIVE_INFINITY;
    for (const key of keys) {
      if (key.createdAt <= now + MAX_FOLLOWED_SKEW_MS || followed.has(key.kid))
        newest = Math.max(newest, key.createdAt);
    }
    const record = await generateKeyRecord(algorithm, sealKey, Math.max(now, newest + 1));
    await store.create(record);
    return record;
  }

  /**
   * Retires every key still signing that comes before the last one of this ring's algorithm in the
   * store's order (`createdAt`, then `kid`): the keys a rotation replaces (of any algorithm: a
   * rotation is how the algorithm changes), and the first keys of instances that started together. Called after every create,
   * reading the store afresh: of instances creating keys at once (first keys or rotations), the one
   * that reads last has seen every create and leaves only the last key signing, whatever order
   * their calls land in, and the last key is never retired by anyone. (Each retiring "all but
   * mine", as this once did, two instances could retire every key, and nothing would sign once the
   * grace ran out.) Returns the kids it retired. Unless `replacing`, rejects before retiring
   * anything when that same read holds keys still signing that this secret cannot unseal: it never
   * retires such a key that it has read, nor its own towards one. (One stored after the read and
   * dated before the last is retired with the rest; its maker, seeing the last, refuses.)
   * Replacing, it keeps the last key it can read: never another secret's, which would retire its
   * own key and leave it none.
   */
  async #retireAllButTheLast({ own, replacing }: { own?: SigningKeyRecord; replacing: boolean }): Promise<string[]> {
    const { store, algorithm, clock, retireGraceMs, publishDelayMs } = this.#options;
    const keys = await store.list();
    const unreadable = new Set((await this.#unreadable(keys)).map((key) => key.kid));
    if (!replacing && unreadable.size > 0) throw new UnreadableSigningKeysError(unreadable.size);
    // Not a key a broken clock dated far ahead (unless it is the one this ring just made): it would
    // stay last, and no rotation could replace it. (Leaving it out of the choice keeps the
    // guarantee: nobody retires the last key of all.)
    const horizon = Math.max(clock.now() + MAX_FOLLOWED_SKEW_MS, own?.createdAt ?? Number.NEGATIVE_INFINITY);
    const last = keys
      .filter(
        (key) =>
          key.alg === algorithm && key.retiredAt === null && key.createdAt <= horizon && !unreadable.has(key.kid),
      )
      .at(-1);
    if (last === undefined || !keys.some((key) => key.retiredAt === null && key.kid !== last.kid)) return [];
    const retiredAt = clock.now() + publishDelayMs;
    return store.retireOlderThan(last, retiredAt, retiredAt + retireGraceMs);
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
        // Sealed under another secret. Not loaded, not even its public half to verify with: the
        // seal is what shows that a record was made by a holder of the secret, so write access to
        // the keys table alone cannot add a key that verifies.
        this.#unsealable.report(record);
        continue;
      }
      const signingKey = await importJWK(JSON.parse(privateJson) as JWK, record.alg);
      const publicJwk = record.publicJwk === null ? null : (JSON.parse(record.publicJwk) as JWK);
      const verificationKey = publicJwk ? await importJWK(publicJwk, record.alg) : signingKey;
      next.set(record.kid, { kid: record.kid, alg: record.alg, signingKey, verificationKey, publicJwk, record });
    }
    this.#keys = next;
    this.#unsealable.keepOnly(records);
  }

  /** Keys of the configured algorithm that have not stopped signing, newest first. */
  #candidates(): LoadedKey[] {
    return signingCandidates(this.#keys.values(), this.#options.algorithm, this.#options.clock.now());
  }

  /** The key that signs new tokens (see `chooseSigningKey`). */
  current(): LoadedKey {
    const { algorithm, clock, publishDelayMs } = this.#options;
    const key = chooseSigningKey(this.#keys.values(), { algorithm, now: clock.now(), publishDelayMs });
    if (!key) {
      throw new Error(
        'coatcheck: the key ring has no key it can sign with (init() was not awaited, or the keys were replaced under another secret)',
      );
    }
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
   * Rejects with `UnreadableSigningKeysError` while keys still signing were sealed under another
   * secret, unless `replaceUnreadable` (a change of secret on purpose: the new key is dated after
   * those, however far ahead, so that they retire as in any rotation; instances on the old secret
   * then refuse to start, and tokens they signed do not verify where this secret runs). A
   * replacement rejects at the end while another secret's key is still signing (one stored
   * meanwhile, by an instance on the old secret starting or rotating): run it again. Refused after
   * storing its key, a rotation leaves that key, which its own siblings can use.
   */
  async rotate(options: { replaceUnreadable?: boolean } = {}): Promise<SigningKeyRecord> {
    return (await this.rotateAndReport(options)).key;
  }

  /** `rotate`, also saying which keys the rotation retired (for `coatcheck keys rotate` to report). */
  async rotateAndReport({ replaceUnreadable = false }: { replaceUnreadable?: boolean } = {}): Promise<Rotation> {
    if (!replaceUnreadable) await this.#refuseUnreadableKeys();
    const key = await this.#createAfterEveryKey({ replacing: replaceUnreadable });
    const retired = await this.#retireAllButTheLast({ own: key, replacing: replaceUnreadable });
    this.#options.logger.info({ event: 'keys.rotated', kid: key.kid, retired }, 'signing key rotated');
    await this.reload();
    if (replaceUnreadable) {
      const unreadable = await this.unreadableKeysStillSigning();
      if (unreadable > 0) throw new UnreadableSigningKeysError(unreadable, { duringReplacement: true });
    }
    return {
      key,
      retired,
      retiredUnreadable: await sealedElsewhere(this.#options.store, this.#options.sealKey, retired),
    };
  }
}
