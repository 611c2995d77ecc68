import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_SECRET_BYTES } from '../tokens/options.js';
import { ConfigError } from './config.js';

/** Where the secret is kept when `COATCHECK_SECRET` is not set. */
export function secretFilePath(dataDir: string): string {
  return join(dataDir, 'secret.key');
}

/**
 * The secret that seals signing keys: `COATCHECK_SECRET` when set (required in production), else a
 * random one generated once into the data directory with mode 0600, so the embedded default works
 * with zero configuration and nothing secret ever lives in the repository.
 */
export function loadSecret(options: SecretOptions): {
  secret: string;
  source: 'environment' | 'generated' | 'file';
} {
  const found = findSecret(options);
  if (found !== null) return found;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const path = secretFilePath(options.dataDir);
  const secret = randomBytes(32).toString('hex');
  // `wx`: never overwrite a secret another process wrote first.
  try {
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadSecret(options);
    throw error;
  }
  return { secret, source: 'generated' };
}

interface SecretOptions {
  configured: string | undefined;
  dataDir: string;
  required?: string | undefined;
}

/**
 * The secret `loadSecret` would use, creating nothing: `null` where it would generate one (no
 * `COATCHECK_SECRET`, no secret file). For commands that only read, such as `coatcheck keys list`.
 */
export function findSecret(options: SecretOptions): { secret: string; source: 'environment' | 'file' } | null {
  if (options.configured !== undefined) {
    if (Buffer.byteLength(options.configured) < MIN_SECRET_BYTES) {
      throw new ConfigError(`COATCHECK_SECRET must be at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -hex 32)`);
    }
    return { secret: options.configured, source: 'environment' };
  }
  if (options.required) {
    throw new ConfigError(`COATCHECK_SECRET is required with ${options.required} (e.g. openssl rand -hex 32)`);
  }
  const path = secretFilePath(options.dataDir);
  try {
    const secret = readFileSync(path, 'utf8').trim();
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    if (Buffer.byteLength(secret) < MIN_SECRET_BYTES)
      throw new ConfigError(`${path} holds a secret shorter than ${MIN_SECRET_BYTES} bytes`);
    return { secret, source: 'file' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
