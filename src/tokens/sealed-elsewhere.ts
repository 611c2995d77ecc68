import type { SigningKeyStore } from '../store/types.js';
import { unseal } from './seal.js';

/**
 * Of these kids, those whose stored key `sealKey` cannot unseal: keys sealed under another secret.
 * Read afresh from the store, so that a key stored after some earlier read, or of an algorithm this
 * version does not know, is judged by its seal like the rest.
 */
export async function sealedElsewhere(
  store: Pick<SigningKeyStore, 'list'>,
  sealKey: Uint8Array,
  kids: readonly string[],
): Promise<string[]> {
  if (kids.length === 0) return [];
  const wanted = new Set(kids);
  const found: string[] = [];
  for (const record of await store.list()) {
    if (wanted.has(record.kid) && (await unseal(record.privateJwkSealed, sealKey)) === null) found.push(record.kid);
  }
  return found;
}
