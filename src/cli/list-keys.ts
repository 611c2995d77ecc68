import type { ServerConfig } from '../server/config.js';
import { openSqlStore } from '../server/open-stores.js';
import { findSecret } from '../server/secret.js';
import { secretRequiredBy } from '../server/serve.js';
import { deriveKey, unseal } from '../tokens/seal.js';
import { storedSigningKid } from '../tokens/stored-signing-key.js';
import { KEY_PUBLISH_DELAY_MS } from '../tokens/token-service.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * `coatcheck keys list`: the stored keys and their state as the store records it, whatever this
 * shell's secret and algorithm (it is run to diagnose a wrong one); then, apart, whether this
 * secret unseals each key. Writes nothing: no key, no secret file, no database.
 */
export async function listKeys(config: ServerConfig, { json }: { json: boolean }): Promise<number> {
  // Before the store opens: where COATCHECK_SECRET is required, its absence is the whole answer.
  const found = findSecret({
    configured: config.tokens.secret,
    dataDir: config.dataDir,
    required: secretRequiredBy(config),
  });
  const sealKey = found === null ? null : deriveKey(found.secret, 'signing-key-seal');
  const { sql: store } = await openSqlStore(config, { existing: true });
  try {
    const records = await store.signingKeys.list();
    const now = Date.now();
    const signing = storedSigningKid(records, { now, publishDelayMs: KEY_PUBLISH_DELAY_MS });
    const rows = [];
    for (const key of records) {
      rows.push({
        kid: key.kid,
        alg: key.alg,
        status: key.kid === signing ? 'signing' : key.retiredAt === null ? 'published' : 'retired',
        createdAt: iso(key.createdAt),
        retiredAt: iso(key.retiredAt),
        expiresAt: iso(key.expiresAt),
        // `null`: no secret to try (no COATCHECK_SECRET, and no secret file to read).
        unsealable: sealKey === null ? null : (await unseal(key.privateJwkSealed, sealKey)) !== null,
      });
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    for (const r of rows) {
      const secret =
        r.unsealable === null
          ? 'no secret to try'
          : r.unsealable
            ? 'this secret unseals it'
            : 'this secret cannot unseal it';
      process.stdout.write(
        `${r.kid}\t${r.alg}\t${r.status}\tcreated ${r.createdAt}\texpires ${r.expiresAt ?? '-'}\t${secret}\n`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}
