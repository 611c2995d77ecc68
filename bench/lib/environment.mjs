// What the numbers were measured on: machine, runtime and the versions of everything compared.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.mjs';

const PACKAGES = [
  'express',
  'jose',
  'fast-jwt',
  'jsonwebtoken',
  'express-session',
  'connect-redis',
  'redis',
  'ioredis',
  'better-sqlite3',
  'pg',
  '@node-rs/argon2',
  'autocannon',
  'mitata',
];

function versionOf(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return dirty.trim() ? `${commit} + uncommitted changes` : commit;
  } catch {
    return 'unknown';
  }
}

export async function environment(services) {
  const coatcheck = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  return {
    coatcheck: `${coatcheck} (${gitCommit()})`,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
    redis: services.redis.ok ? services.redis.version : `not available: ${services.redis.reason}`,
    postgres: services.postgres.ok ? services.postgres.version : `not available: ${services.postgres.reason}`,
    packages: Object.fromEntries(PACKAGES.map((name) => [name, versionOf(name)])),
  };
}
