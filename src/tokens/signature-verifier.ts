import { KeyObject } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import type { LoadedKey } from './key-ring.js';

/** The claims every access token must carry. */
export const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'];

/** The payload of a token whose signature and fixed claims hold, or `null`. */
export type PayloadVerifier = (token: string) => Record<string, unknown> | null;

/**
 * fast-jwt's verifier for one of our keys: the signature with that key under its algorithm only,
 * `typ: at+jwt`, `iss` and `aud` equal to ours, and the required claims present. The key is chosen
 * by the caller from the token's `kid` among our own keys, never by the header.
 *
 * `exp` and `nbf` are the caller's: fast-jwt reads its clock once, when the verifier is made, and
 * counts in milliseconds, while coatcheck injects its clock and keeps jose's whole-second rule.
 */
export function createPayloadVerifier(
  key: Pick<LoadedKey, 'alg' | 'verificationKey'>,
  expected: { issuer: string; audience: string },
): PayloadVerifier {
  // fast-jwt takes a secret as bytes and a public key as PEM; it makes its own KeyObject once.
  const material =
    key.verificationKey instanceof Uint8Array
      ? Buffer.from(key.verificationKey)
      : (KeyObject.from(key.verificationKey).export({ type: 'spki', format: 'pem' }) as string);
  const verify = createVerifier({
    key: material,
    algorithms: [key.alg],
    checkTyp: 'at+jwt',
    allowedIss: expected.issuer,
    allowedAud: expected.audience,
    requiredClaims: REQUIRED_CLAIMS,
    ignoreExpiration: true,
    ignoreNotBefore: true,
    cache: false,
  });
  return (token) => {
    try {
      return verify(token) as Record<string, unknown>;
    } catch {
      return null;
    }
  };
}
