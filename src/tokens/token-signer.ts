import { KeyObject } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import type { LoadedKey } from './key-ring.js';

/** Signs a claim set exactly as given, as a compact JWS. */
export type ClaimsSigner = (claims: Record<string, string | number>) => string;

/**
 * fast-jwt's signer for one of our keys: header `{ alg, typ: 'at+jwt', kid }`, the payload as
 * given. Login and refresh sign on every call; jose's `SignJWT` goes through Web Crypto's async
 * API, which costs about twice node:crypto's signing for ES256 and twenty-five times for HS256.
 *
 * fast-jwt adds no claim of its own here: a payload carrying `iat` and `exp` keeps them (it writes
 * back `iat` as given, in whole seconds), and no `nbf` is set. The tokens it makes are checked by
 * jose in the tests, the same as tokens from anywhere else.
 */
export function createClaimsSigner(key: Pick<LoadedKey, 'alg' | 'kid' | 'signingKey'>): ClaimsSigner {
  // fast-jwt takes a secret as bytes and a private key as PEM; it makes its own KeyObject once.
  const material =
    key.signingKey instanceof Uint8Array
      ? Buffer.from(key.signingKey)
      : (KeyObject.from(key.signingKey).export({ type: 'pkcs8', format: 'pem' }) as string);
  const sign = createSigner({
    key: material,
    algorithm: key.alg,
    kid: key.kid,
    header: { alg: key.alg, typ: 'at+jwt' },
  });
  return (claims) => {
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') {
      throw new TypeError('coatcheck: an access token needs iat and exp');
    }
    return sign(claims);
  };
}
