import { spawn, spawnSync } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrations } from '../src/stores/sqlite/migrations.js';
import { CLI, runCli, type CliOptions } from './helpers/cli.js';

let dataDir: string;

function coatcheck(args: string[], options: CliOptions = {}) {
  return runCli(args, { ...options, env: { COATCHECK_DATA_DIR: dataDir, ...options.env } });
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does this first)');
  dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-'));
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('coatcheck users', () => {
  it('adds a user with the password from stdin, lists it, and changes its role', () => {
    const added = coatcheck(['users', 'add', '--email', 'Admin@Example.com', '--role', 'admin'], {
      input: 'a fine admin passphrase\n',
    });
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/^created usr_\S+ admin@example\.com \(admin\)\n$/);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    const list = coatcheck(['users', 'list', '--json']);
    expect(list.status).toBe(0);
    const users = JSON.parse(list.stdout) as { email: string; role: string }[];
    expect(users).toEqual([expect.objectContaining({ email: 'admin@example.com', role: 'admin' })]);
    expect(list.stdout).not.toMatch(/argon2|passwordHash/);

    const setRole = coatcheck(['users', 'set-role', '--email', 'admin@example.com', '--role', 'support']);
    expect(setRole.status).toBe(0);
    expect(JSON.parse(coatcheck(['users', 'list', '--json']).stdout)[0].role).toBe('support');
  });

  it('refuses a weak password, a duplicate email and bad arguments with one clear line', () => {
    const weak = coatcheck(['users', 'add', '--email', 'weak@example.com'], { input: 'password\n' });
    expect(weak.status).toBe(1);
    expect(weak.stderr).toMatch(/^coatcheck: weak_password/);
    coatcheck(['users', 'add', '--email', 'dup@example.com'], { input: 'a fine passphrase\n' });
    const dup = coatcheck(['users', 'add', '--email', 'dup@example.com'], { input: 'a fine passphrase\n' });
    expect([dup.status, dup.stderr]).toEqual([1, 'coatcheck: email_taken\n']);
    const missing = coatcheck(['users', 'add']);
    expect([missing.status, missing.stderr]).toEqual([1, 'coatcheck: users add needs --email\n']);
    const unknown = coatcheck(['users', 'add', '--email', 'x@example.com', '--bogus']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    const badEnv = coatcheck(['users', 'list'], { env: { PORT: 'eighty' } });
    expect([badEnv.status, badEnv.stderr]).toEqual([1, 'coatcheck: PORT must be a whole number from 0 to 65535\n']);
  });

  it('refuses to read a data directory or database that does not exist, and creates neither', () => {
    const parent = mkdtempSync(join(tmpdir(), 'coatcheck-cli-missing-'));
    try {
      const missing = join(parent, 'mistyped');
      for (const args of [
        ['users', 'list'],
        ['users', 'set-role', '--email', 'a@example.com', '--role', 'admin'],
      ]) {
        const refused = coatcheck(args, { env: { COATCHECK_DATA_DIR: missing } });
        expect([refused.status, refused.stdout, refused.stderr]).toEqual([
          1,
          '',
          `coatcheck: the data directory ${missing} does not exist (check COATCHECK_DATA_DIR); nothing was created\n`,
        ]);
      }
      expect(existsSync(missing)).toBe(false);
      // A directory that exists but holds no database: the same, and it stays empty.
      const empty = coatcheck(['users', 'list'], { env: { COATCHECK_DATA_DIR: parent } });
      expect([empty.status, empty.stderr]).toEqual([
        1,
        `coatcheck: ${join(parent, 'coatcheck.db')} does not exist (is COATCHECK_DATA_DIR the directory \`coatcheck serve\` uses?); nothing was created\n`,
      ]);
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('warns about a misspelt COATCHECK_ setting, naming the one it most likely meant, and goes on', () => {
    const typo = coatcheck(['users', 'list', '--json'], { env: { COATCHECK_TRUST_PROXIES: '1' } });
    expect(typo.status).toBe(0);
    expect(typo.stderr).toBe(
      'coatcheck: warning: COATCHECK_TRUST_PROXIES is not a coatcheck setting and is ignored (did you mean COATCHECK_TRUST_PROXY?)\n',
    );
  });
});

describe('coatcheck migrate (SQLite)', () => {
  it('says what it did: created, migrated from an older version keeping the data, or nothing to do', () => {
    const parent = mkdtempSync(join(tmpdir(), 'coatcheck-cli-migrate-'));
    try {
      const fresh = join(parent, 'fresh');
      const created = coatcheck(['migrate'], { env: { COATCHECK_DATA_DIR: fresh } });
      expect([created.status, created.stdout]).toEqual([
        0,
        `sqlite (${join(fresh, 'coatcheck.db')}): created at version ${migrations.at(-1)!.version}\n`,
      ]);

      // A file an older coatcheck left at version 1, holding a user.
      const old = join(parent, 'old');
      mkdirSync(old, { mode: 0o700 });
      const raw = new BetterSqlite3(join(old, 'coatcheck.db'));
      migrate(raw, migrations.slice(0, 1));
      raw
        .prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run('usr_old', 'old@example.com', null, 'user', 'x', 1, 1);
      raw.close();
      const env = { COATCHECK_DATA_DIR: old };
      const migrated = coatcheck(['migrate'], { env });
      expect([migrated.status, migrated.stdout]).toEqual([
        0,
        `sqlite (${join(old, 'coatcheck.db')}): migrated from version 1 to ${migrations.at(-1)!.version}\n`,
      ]);
      const again = coatcheck(['migrate'], { env });
      expect(again.stdout).toBe(
        `sqlite (${join(old, 'coatcheck.db')}): at version ${migrations.at(-1)!.version}, nothing to do\n`,
      );
      const users = JSON.parse(coatcheck(['users', 'list', '--json'], { env }).stdout) as { email: string }[];
      expect(users.map((user) => user.email)).toEqual(['old@example.com']);

      // Not a SQLite file: one line that names it, no stack trace, and the file left as it was.
      const garbage = join(parent, 'garbage');
      mkdirSync(garbage, { mode: 0o700 });
      const text = 'not a database, only some text that is long enough to be read as a header\n'.repeat(4);
      writeFileSync(join(garbage, 'coatcheck.db'), text);
      for (const args of [['migrate'], ['users', 'list']]) {
        const refused = coatcheck(args, { env: { COATCHECK_DATA_DIR: garbage } });
        expect([refused.status, refused.stdout, refused.stderr]).toEqual([
          1,
          '',
          `coatcheck: The SQLite file ${join(garbage, 'coatcheck.db')} cannot be opened: file is not a database\n`,
        ]);
      }
      expect(readFileSync(join(garbage, 'coatcheck.db'), 'utf8')).toBe(text);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('coatcheck serve', () => {
  it('names the cause in one line when it cannot listen: a port in use, an address this machine does not have', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as AddressInfo;
    try {
      const serve = (env: Record<string, string>) => {
        const result = coatcheck(['serve'], { env: { COATCHECK_ORIGIN: 'http://localhost:3000', ...env } });
        return [result.status, result.stdout, result.stderr];
      };
      expect(serve({ PORT: String(port), HOST: '127.0.0.1' })).toEqual([
        1,
        '',
        `coatcheck: 127.0.0.1 port ${port} is already in use (another server?): set PORT to a free port\n`,
      ]);
      // TEST-NET-3 (RFC 5737): never an address of this machine, and no DNS lookup.
      expect(serve({ PORT: '0', HOST: '203.0.113.1' })).toEqual([
        1,
        '',
        'coatcheck: cannot listen on 203.0.113.1 port 0: HOST is not an address of this machine\n',
      ]);
    } finally {
      squatter.close();
    }
  });

  it('serves on the configured port with data in the data directory, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: {
        ...process.env,
        COATCHECK_DATA_DIR: dataDir,
        PORT: '0',
        COATCHECK_ORIGIN: 'http://localhost:3000',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${output}`)), 15_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'dup@example.com', password: 'a fine passphrase' }),
    });
    expect(login.status).toBe(200);
    expect(existsSync(join(dataDir, 'coatcheck.db'))).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // JSON log lines, and no secret in them.
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!.split('=')[1]!;
    expect(output).not.toContain(cookie);
    expect(output).not.toContain('a fine passphrase');
  });
});

describe('configuration errors', () => {
  it('PORT=0 without COATCHECK_ORIGIN is refused with one clear line (the origin must be known)', () => {
    const reply = spawnSync(process.execPath, [CLI, 'serve'], {
      encoding: 'utf8',
      env: { ...process.env, COATCHECK_DATA_DIR: dataDir, PORT: '0', COATCHECK_ORIGIN: '' },
      timeout: 20_000,
    });
    expect([reply.status, reply.stderr]).toEqual([
      1,
      'coatcheck: PORT=0 (any free port) needs COATCHECK_ORIGIN, the URL users will open\n',
    ]);
  });

  it('names the variables to set, not createAuth option names, when a setting is refused', () => {
    // Refused before anything opens: no data directory is left behind.
    const untouched = join(dataDir, 'never-created');
    const refusedServe = (env: Record<string, string>) => {
      const reply = coatcheck(['serve'], {
        env: { PORT: '0', COATCHECK_ORIGIN: 'http://localhost:1', COATCHECK_DATA_DIR: untouched, ...env },
      });
      expect([reply.status, existsSync(untouched)]).toEqual([1, false]);
      return reply.stderr;
    };
    expect(refusedServe({ COATCHECK_ORIGIN: 'http://app.example.com' })).toBe(
      'coatcheck: COATCHECK_ORIGIN http://app.example.com is plain http on a non-loopback host; use https, or set COATCHECK_ALLOW_INSECURE_HTTP=1 for local development\n',
    );
    expect(refusedServe({ COATCHECK_ACCESS_TOKEN_TTL: '1000' })).toMatch(
      /^coatcheck: COATCHECK_ACCESS_TOKEN_TTL over 900 s .* needs COATCHECK_DANGEROUSLY_ALLOW_LONG_ACCESS_TOKENS=1/,
    );
    expect(refusedServe({ COATCHECK_SECRET: 'too short' })).toBe(
      'coatcheck: COATCHECK_SECRET must be at least 32 bytes (e.g. openssl rand -hex 32)\n',
    );
    const origin = coatcheck(['serve'], { env: { PORT: '0', COATCHECK_ORIGIN: 'https://app.example.com/app' } });
    expect(origin.stderr).toBe(
      'coatcheck: COATCHECK_ORIGIN must be an origin (scheme, host and port only), such as https://app.example.com\n',
    );
  });

  it('a Redis key prefix with braces is refused before anything opens (they would change hash slots)', () => {
    const reply = coatcheck(['serve'], { env: { COATCHECK_REDIS_PREFIX: 'cc{tenant}' } });
    expect([reply.status, reply.stderr]).toEqual([
      1,
      'coatcheck: COATCHECK_REDIS_PREFIX must be 1 to 64 of the characters A-Z a-z 0-9 _ . : -\n',
    ]);
  });
});
