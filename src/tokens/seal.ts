import { hkdfSync } from 'node:crypto';
import { compactDecrypt, CompactEncrypt } from 'jose';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A 256-bit key for `purpose`, derived from high-entropy input keying material with HKDF-SHA-256. */
export function deriveKey(material: string | Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', material, 'coatcheck', purpose, 32));
}

/** Authenticated encryption of `plaintext` (JWE compact, `dir` + A256GCM, via jose). */
export async function seal(plaintext: string, key: Uint8Array): Promise<string> {
  return new CompactEncrypt(encoder.encode(plaintext)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key);
}

/** The plaintext of `sealed`, or `null` if it was not sealed under `key` or was altered. */
export async function unseal(sealed: string, key: Uint8Array): Promise<string | null> {
  try {
    const { plaintext } = await compactDecrypt(sealed, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    return decoder.decode(plaintext);
  } catch {
    return null;
  }
}
