import { parseArgs } from 'node:util';
import { createAuth } from '../create-auth.js';
import { ConfigError, type ServerConfig } from '../server/config.js';
import { openSqlStore } from '../server/open-stores.js';
import { tokenOptions } from '../server/serve.js';
import type { SigningKeyStore } from '../store/types.js';
import type { KeyRing } from '../tokens/key-ring.js';
import { KEY_PUBLISH_DELAY_MS } from '../tokens/token-service.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** `coatcheck keys list|rotate`, on the same data directory and secret as `serve`. */
export async function runKeys(config: ServerConfig, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      json: { type: 'boolean', default: false },
      'replace-unreadable': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (sub !== 'list' && sub !== 'rotate') throw new TypeError('keys needs one of: list, rotate');
  if (values['replace-unreadable'] && sub !== 'rotate') throw new TypeError('--replace-unreadable goes with rotate');
  const { sql: store } = await openSqlStore(config);
  const auth = createAuth({
    store,
    origin: config.origin,
    allowInsecureHttp: config.allowInsecureHttp,
    purgeInterval: 0,
    tokens: tokenOptions(config),
  });
  const ring = auth.tokens!.ring;
  try {
    if (sub === 'rotate') {
      if (values['replace-unreadable']) {
        // A change of secret on purpose: the keys sealed under the old one are retired like any
        // rotation's, and instances still on the old secret refuse to start from now on.
        // (`ready()` would refuse too, for the same reason as `serve`.)
        await ring.reload();
      } else {
        await refuseUnreadableKeys(ring, store.signingKeys);
        await auth.ready();
      }
      const key = await ring.rotate();
      process.stdout.write(
        `new signing key ${key.kid} (${key.alg}): in the JWKS now, signing from ${iso(key.createdAt + KEY_PUBLISH_DELAY_MS)}; older keys keep verifying until their tokens have expired\n`,
      );
      return 0;
    }
    // Listing only reads. `ready()` would create a key where the store holds none this
    // configuration can use (another algorithm, another secret), and retire the fleet's keys.
    await ring.reload();
    const keys = await store.signingKeys.list();
    const current = signingKid(ring);
    const rows = keys.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      status: k.kid === current ? 'signing' : k.retiredAt === null ? 'published' : 'retired',
      createdAt: iso(k.createdAt),
      retiredAt: iso(k.retiredAt),
      expiresAt: iso(k.expiresAt),
    }));
    if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else
      for (const r of rows)
        process.stdout.write(
          `${r.kid}\t${r.alg}\t${r.status}\tcreated ${r.createdAt}\texpires ${r.expiresAt ?? '-'}\n`,
        );
    return 0;
  } finally {
    await auth.close();
    await store.close();
  }
}

/** The kid this configuration would sign with, or `null` when none of the stored keys can (`current` throws). */
function signingKid(ring: KeyRing): string | null {
  try {
    return ring.current().kid;
  } catch {
    return null;
  }
}

/**
 * A rotation from a shell whose secret is not the fleet's would make a key the fleet cannot
 * unseal and retire the keys it signs with: refuse while the store holds live keys this
 * configuration cannot read.
 */
async function refuseUnreadableKeys(ring: KeyRing, keys: SigningKeyStore): Promise<void> {
  await ring.reload();
  const now = Date.now();
  const unreadable = (await keys.list()).filter(
    (key) => (key.expiresAt === null || key.expiresAt > now) && ring.peek(key.kid) === undefined,
  );
  if (unreadable.length > 0) {
    throw new ConfigError(
      `${unreadable.length} signing key(s) in the store cannot be unsealed with this COATCHECK_SECRET: not rotating (is this the secret every instance uses? To change the secret on purpose, add --replace-unreadable)`,
    );
  }
}
