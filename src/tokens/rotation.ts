import type { SigningKeyRecord } from '../store/types.js';

/** What a rotation did. */
export interface Rotation {
  /** The new key. */
  key: SigningKeyRecord;
  /** The kids it retired: they stop signing now and verify until their tokens have expired. */
  retired: string[];
  /** Of those, the keys sealed under another secret (this ring's secret cannot unseal them). */
  retiredUnreadable: string[];
}
