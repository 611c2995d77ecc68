import { KeyObject } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import type { LoadedKey } from './key-ring.js';

/** The payload of a token whose signature and `typ` hold, or `null`. */
export type PayloadVerifier = (token: string) => Record<string, unknown> | null;

/**
 * fast-jwt's verifier for one of our keys: the token's structure, the signature with that key
 * under its algorithm only, and `typ: at+jwt`. The key is chosen by the caller from the token's
 * `kid` among our own keys, never by the header.
 *
 * The claims are the caller's: `exp` and `nbf` because fast-jwt reads its clock once, when the
 * verifier is made, and counts in milliseconds, while coatcheck injects its clock and keeps jose's
 * whole-second rule; `iss`, `aud` and the required claims because the caller checks each one's
 * type and value anyway (one audience, a string), and fast-jwt's general-purpose validators
 * (allow-lists, patterns, arrays) cost a tenth of an HS256 verification on top of that.
 */
export function createPayloadVerifier(key: Pick<LoadedKey, 'alg' | 'verificationKey'>): PayloadVerifier {
  // fast-jwt takes a secret as bytes and a public key as PEM; it makes its own KeyObject once.
  const material =
    key.verificationKey instanceof Uint8Array
      ? Buffer.from(key.verificationKey)
      : (KeyObject.from(key.verificationKey).export({ type: 'spki', format: 'pem' }) as string);
  const verify = createVerifier({
    key: material,
    algorithms: [key.alg],
    checkTyp: 'at+jwt',
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
