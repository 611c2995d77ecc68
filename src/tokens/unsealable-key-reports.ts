import type { AuthLogger } from '../core/logger.js';
import type { SigningKeyRecord } from '../store/types.js';

/**
 * Logs each stored key that the ring's secret cannot unseal once per state, not at every reload
 * (every 20 s): an error while it is not retired (instances disagree on the secret), a warning
 * once it is (the old secret's keys after a deliberate change, until they expire). The same
 * "not retired" as the start-up check's, so a deliberate change is never reported as an error.
 */
export class UnsealableKeyReports {
  /** kid → whether it was reported as not retired. */
  readonly #reported = new Map<string, boolean>();

  constructor(private readonly logger: AuthLogger) {}

  report(record: SigningKeyRecord): void {
    const stillSigning = record.retiredAt === null;
    if (this.#reported.get(record.kid) === stillSigning) return;
    this.#reported.set(record.kid, stillSigning);
    const fields = { event: 'keys.unsealable', kid: record.kid, stillSigning };
    if (stillSigning) {
      this.logger.error(
        fields,
        'signing key cannot be unsealed with this secret (COATCHECK_SECRET, or the tokens.secret option)',
      );
    } else {
      this.logger.warn(fields, 'retired signing key sealed under another secret: tokens it signed do not verify here');
    }
  }

  /** Forgets keys no longer in the store, so that the map does not outlive them. */
  keepOnly(records: readonly SigningKeyRecord[]): void {
    const present = new Set(records.map((record) => record.kid));
    for (const kid of this.#reported.keys()) if (!present.has(kid)) this.#reported.delete(kid);
  }
}
