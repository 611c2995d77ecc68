import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createAuth } from '../create-auth.js';
import { ConfigError, type ServerConfig } from '../server/config.js';
import { openSqlStore } from '../server/open-stores.js';
import { secretFilePath } from '../server/secret.js';
import { secretRequiredBy, tokenOptions } from '../server/serve.js';
import type { SigningKeyRecord } from '../store/types.js';
import { KEY_PUBLISH_DELAY_MS } from '../tokens/token-service.js';
import { listKeys } from './list-keys.js';
import { currentStoredKey } from '../tokens/stored-signing-key.js';
import { askOnTerminal } from './ask-on-terminal.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** `coatcheck keys list|rotate`, on the same data directory and secret as `serve`. */
export async function runKeys(config: ServerConfig, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      json: { type: 'boolean', default: false },
      'replace-unreadable': { type: 'boolean', default: false },
      'change-algorithm': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (sub !== 'list' && sub !== 'rotate') throw new TypeError('keys needs one of: list, rotate');
  if (values['replace-unreadable'] && sub !== 'rotate') throw new TypeError('--replace-unreadable goes with rotate');
  if (values.yes && !values['replace-unreadable']) throw new TypeError('--yes goes with --replace-unreadable');
  if (values['change-algorithm'] && (sub !== 'rotate' || values['replace-unreadable']))
    throw new TypeError('--change-algorithm goes with rotate alone');
  if (sub === 'list') return listKeys(config, { json: values.json });
  if (values['replace-unreadable']) refuseWithoutNewSecret(config);
  // Before the store opens: where COATCHECK_SECRET is required, its absence is the whole answer.
  const tokens = tokenOptions(config);
  const { sql: store } = await openSqlStore(config);
  const auth = createAuth({
    store,
    origin: config.origin,
    allowInsecureHttp: config.allowInsecureHttp,
    purgeInterval: 0,
    tokens,
  });
  const ring = auth.tokens!.ring;
  try {
    const replaceUnreadable = values['replace-unreadable'];
    if (replaceUnreadable) {
      // Not `ready()`: it refuses for the same reason `serve` does.
      await ring.reload();
      const shown = await ring.unreadableSigningKeys();
      await confirmReplacement(shown, {
        yes: values.yes,
        secretSource: secretSourceOf(config),
        store: config.databaseUrl ? 'the DATABASE_URL database' : config.dataDir,
      });
      // The answer may have taken minutes: replace only the keys the operator was shown.
      if (kidsOf(await ring.unreadableSigningKeys()) !== kidsOf(shown)) {
        throw new ConfigError(
          '--replace-unreadable: the keys sealed under another secret changed meanwhile (an instance on the old secret started or rotated); no key was changed: run it again',
        );
      }
    } else if (values['change-algorithm']) {
      // Not `ready()`: it refuses a store whose current key is of another algorithm.
      await ring.reload();
      const current = currentStoredKey(await store.signingKeys.list(), Date.now());
      if (current?.alg === config.tokens.algorithm) {
        throw new ConfigError(
          `--change-algorithm: the store's keys already sign with ${current.alg}; nothing to change (a plain rotation is \`coatcheck keys rotate\`)`,
        );
      }
    } else {
      await auth.ready();
    }
    const { key, retired, retiredUnreadable } = await ring.rotateAndReport({ replaceUnreadable });
    if (replaceUnreadable) {
      const ours = retired.length - retiredUnreadable.length;
      // Not "signing from" its date plus the publish delay: it is the only key still signing that
      // this secret can read, so it signs wherever this secret runs, and its date may be far
      // ahead (it follows the old secret's keys, whatever a fast clock dated them).
      process.stdout.write(
        `new signing key ${key.kid} (${key.alg}): in the JWKS now; instances on this secret sign with it from their start\n`,
      );
      process.stdout.write(
        `retired ${retiredUnreadable.length} key(s) sealed under another secret${ours > 0 ? ` (and ${ours} of this secret's)` : ''}: instances still on the other secret refuse to start from now on, and where this secret runs their tokens do not verify (clients refresh); restart every instance with this secret\n`,
      );
    } else {
      process.stdout.write(
        `new signing key ${key.kid} (${key.alg}): in the JWKS now, signing from ${iso(key.createdAt + KEY_PUBLISH_DELAY_MS)}; older keys keep verifying until their tokens have expired\n`,
      );
      // Instances on the old algorithm cannot sign with the new key: they keep signing with the
      // retired one, and must be restarted before it expires (and with it, what it signed).
      if (values['change-algorithm']) {
        const retiring = (await store.signingKeys.list()).filter((k) => retired.includes(k.kid));
        const by = Math.min(...retiring.map((k) => k.expiresAt ?? Number.POSITIVE_INFINITY));
        process.stdout.write(
          `restart every instance with COATCHECK_JWT_ALG=${key.alg}${Number.isFinite(by) ? ` before ${iso(by)}` : ''}; instances on another algorithm refuse to start from now on\n`,
        );
      }
    }
    return 0;
  } finally {
    await auth.close();
    await store.close();
  }
}

/**
 * A replacement seals the fleet's next key under this secret, so it must be one the operator
 * gave: not an empty COATCHECK_SECRET falling back to the data directory's file, nor a random
 * secret made for the occasion (where no file exists yet), whose keys no instance could unseal.
 */
function refuseWithoutNewSecret(config: ServerConfig): void {
  const file = secretFilePath(config.dataDir);
  if (config.tokens.secretSetEmpty) {
    const or = secretRequiredBy(config) === undefined ? `, or unset it to use ${file}` : '';
    throw new ConfigError(
      `--replace-unreadable: COATCHECK_SECRET is set but empty (a $(cat file) that read nothing?); set it to the new secret${or}; no key was changed`,
    );
  }
  if (config.tokens.secret === undefined && secretRequiredBy(config) === undefined && !existsSync(file)) {
    throw new ConfigError(
      `--replace-unreadable needs the new secret: set COATCHECK_SECRET to it, or write it into ${file} (which does not exist); no key was changed`,
    );
  }
}

/**
 * Goes on only when the operator means it. A mistyped COATCHECK_SECRET looks exactly like a new
 * one (it unseals none of the fleet's keys), and replacing the fleet's keys makes every instance
 * still on the real secret refuse to start: so the command says what it would retire, and needs
 * `--yes`, or the word typed on a terminal. Refusing, it has changed no key.
 */
async function confirmReplacement(
  unreadable: readonly SigningKeyRecord[],
  { yes, secretSource, store }: { yes: boolean; secretSource: string; store: string },
): Promise<void> {
  if (unreadable.length === 0) {
    throw new ConfigError(
      `--replace-unreadable: no key still signing in ${store} is sealed under another secret; nothing to replace (a plain rotation is \`coatcheck keys rotate\`)`,
    );
  }
  if (yes) return;
  const what = `${unreadable.length} key(s) still signing that this secret (${secretSource}) cannot unseal`;
  // Both ends on a terminal: a prompt written to a redirected stderr would wait unseen.
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new ConfigError(
      `--replace-unreadable would retire ${what}, and every instance still on their secret would refuse to start; it asks first when stdin and stderr are both a terminal, or, if this is the new secret and not a typo, add --yes (no key was changed)`,
    );
  }
  const listed = unreadable.map((key) => `  ${key.kid}  ${key.alg}  created ${iso(key.createdAt)}\n`).join('');
  process.stderr.write(
    `This retires ${what}:\n${listed}Every instance still on their secret will refuse to start, and tokens they signed stop verifying where this secret runs.\nIf this secret is mistyped, stop here.\n`,
  );
  const answer = await askOnTerminal('Type "replace" to go on: ');
  if (answer === null) throw new ConfigError('not replaced: cancelled (no key was changed)');
  if (answer !== 'replace') throw new ConfigError('not replaced: the answer was not "replace" (no key was changed)');
}

function secretSourceOf(config: ServerConfig): string {
  return config.tokens.secret !== undefined ? 'COATCHECK_SECRET' : secretFilePath(config.dataDir);
}

const kidsOf = (keys: readonly SigningKeyRecord[]): string => keys.map((key) => key.kid).join(',');
