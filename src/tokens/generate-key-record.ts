import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { SigningKeyRecord } from '../store/types.js';
import type { JwtAlgorithm } from './key-ring.js';
import { seal } from './seal.js';

/** A new signing key of `alg`, dated `now`, its private half sealed with `sealKey`; not yet stored. */
export async function generateKeyRecord(
  alg: JwtAlgorithm,
  sealKey: Uint8Array,
  now: number,
): Promise<SigningKeyRecord> {
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
