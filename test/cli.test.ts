import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built CLI, exactly as `npm start` and `npx coatcheck` run it (`npm test` builds first).
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let dataDir: string;

function coatcheck(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, COATCHECK_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...options.env },
    timeout: 20_000,
  });
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
});

describe('coatcheck keys', () => {
  it('lists without writing (even under another secret), and rotates', () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-keys-'));
    try {
      const keys = (args: string[], env: Record<string, string> = {}) =>
        coatcheck(['keys', ...args], { env: { COATCHECK_DATA_DIR: keysDir, ...env } });
      const listed = (env: Record<string, string> = {}) => {
        const result = keys(['list', '--json'], env);
        expect([result.status, result.stderr]).toEqual([0, '']);
        return JSON.parse(result.stdout) as { kid: string; status: string; retiredAt: string | null }[];
      };

      // An empty store stays empty: listing creates no key.
      expect(listed()).toEqual([]);
      expect(listed()).toEqual([]);

      const rotated = keys(['rotate']);
      expect([rotated.status, rotated.stderr]).toEqual([0, '']);
      expect(rotated.stdout).toMatch(/^new signing key \S+ \(ES256\): in the JWKS now, signing from /);
      const ring = listed();
      expect(ring.map((key) => key.status)).toEqual(['signing', 'published']);

      // A shell with the wrong secret (or another algorithm) sees keys it cannot use, and changes nothing.
      // Neither signs for it: the first key is on its way out, the second not yet signing.
      const unusable = ring.map((key) => [key.kid, key.retiredAt === null ? 'published' : 'retired']);
      const statuses = (env: Record<string, string>) => listed(env).map((key) => [key.kid, key.status]);
      expect(statuses({ COATCHECK_SECRET: 'another secret of at least thirty-two bytes' })).toEqual(unusable);
      expect(statuses({ COATCHECK_JWT_ALG: 'EdDSA' })).toEqual(unusable);
      // Nor may it rotate: the fleet could not unseal the new key, and its own would be retired.
      const stranger = keys(['rotate'], { COATCHECK_SECRET: 'another secret of at least thirty-two bytes' });
      expect([stranger.status, stranger.stdout]).toEqual([1, '']);
      expect(stranger.stderr).toMatch(
        /^coatcheck: 1 signing key\(s\) in the store, not retired, cannot be unsealed with this secret \(COATCHECK_SECRET, or the tokens\.secret option\): is it the one the other instances use\? .*--replace-unreadable` \(in code, `rotate\(\{ replaceUnreadable: true \}\)`\) with the new one, then restart every instance with it\n$/,
      );
      expect(listed()).toEqual(ring);
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('refuses to serve under a secret that cannot unseal the keys still signing, until they are replaced on purpose', () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-keys-'));
    const newSecret = { COATCHECK_SECRET: 'the new secret, of at least thirty-two bytes' };
    try {
      const run = (args: string[], env: Record<string, string> = {}) =>
        coatcheck(args, {
          env: {
            COATCHECK_DATA_DIR: keysDir,
            PORT: '0',
            HOST: '127.0.0.1',
            COATCHECK_ORIGIN: 'http://localhost:3000',
            ...env,
          },
        });
      const listed = (env: Record<string, string> = {}) => {
        const result = run(['keys', 'list', '--json'], env);
        expect([result.status, result.stderr]).toEqual([0, '']);
        return JSON.parse(result.stdout) as { kid: string; status: string }[];
      };
      expect(run(['keys', 'rotate']).status).toBe(0);
      const ring = listed();
      expect(ring.map((key) => key.status)).toEqual(['signing', 'published']);

      // It would make its own key and retire the fleet's: one line, exit 1, nothing written.
      const refused = run(['serve'], newSecret);
      expect([refused.status, refused.stdout]).toEqual([1, '']);
      expect(refused.stderr).toMatch(
        /^coatcheck: 1 signing key\(s\) in the store, not retired, cannot be unsealed .*\n$/,
      );
      expect(listed()).toEqual(ring);

      // A mistyped secret looks just like a new one: in a script, nothing happens without --yes.
      const unconfirmed = run(['keys', 'rotate', '--replace-unreadable'], newSecret);
      expect([unconfirmed.status, unconfirmed.stdout, unconfirmed.stderr]).toEqual([
        1,
        '',
        'coatcheck: --replace-unreadable would retire 1 key(s) still signing that this secret cannot unseal, and every instance still on their secret would refuse to start; if COATCHECK_SECRET is the new secret and not a typo, add --yes (nothing was written)\n',
      ]);
      expect(listed()).toEqual(ring);

      // A change of secret on purpose: the old keys retire as in any rotation, the new one signs.
      const replaced = run(['keys', 'rotate', '--replace-unreadable', '--yes'], newSecret);
      expect([replaced.status, replaced.stderr]).toEqual([0, '']);
      expect(replaced.stdout).toMatch(
        /^new signing key \S+ \(ES256\): in the JWKS now; instances on this secret sign with it from their start\nretired 1 key\(s\) sealed under another secret: instances still on it refuse to start from now on/,
      );
      expect(listed(newSecret).map((key) => key.status)).toEqual(['retired', 'retired', 'signing']);
      // The old secret is refused from now on; the new one rotates plainly, and has nothing left to replace.
      const oldSecret = run(['serve']);
      expect([oldSecret.status, oldSecret.stdout]).toEqual([1, '']);
      expect(oldSecret.stderr).toMatch(/^coatcheck: 1 signing key\(s\) in the store, not retired, cannot be unsealed /);
      expect(run(['keys', 'rotate'], newSecret).status).toBe(0);
      const nothingLeft = run(['keys', 'rotate', '--replace-unreadable'], newSecret);
      expect([nothingLeft.status, nothingLeft.stderr]).toEqual([
        1,
        'coatcheck: --replace-unreadable: no key still signing is sealed under another secret; nothing to replace (a plain rotation is `coatcheck keys rotate`)\n',
      ]);
      expect(run(['keys', 'list', '--replace-unreadable']).stderr).toBe(
        'coatcheck: --replace-unreadable goes with rotate\n',
      );
      expect(run(['keys', 'rotate', '--yes']).stderr).toBe('coatcheck: --yes goes with --replace-unreadable\n');
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  });
});

/** The CLI on a pseudo-terminal (util-linux `script`), with `typed` typed into it. */
function coatcheckOnTerminal(args: string[], typed: string, env: Record<string, string>) {
  const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
  return spawnSync('script', ['-qec', [process.execPath, CLI, ...args].map(quote).join(' '), '/dev/null'], {
    input: typed,
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    timeout: 20_000,
  });
}

describe('coatcheck keys rotate --replace-unreadable on a terminal', () => {
  it('lists what it would retire, and goes on only when "replace" is typed', () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-keys-'));
    const env = { COATCHECK_DATA_DIR: keysDir };
    const newSecret = { ...env, COATCHECK_SECRET: 'the new secret, of at least thirty-two bytes' };
    try {
      const listed = () => JSON.parse(coatcheck(['keys', 'list', '--json'], { env }).stdout) as { kid: string }[];
      expect(coatcheck(['keys', 'rotate'], { env }).status).toBe(0);
      const ring = listed();
      const stillSigning = ring[1]!.kid;

      const declined = coatcheckOnTerminal(['keys', 'rotate', '--replace-unreadable'], 'yes\n', newSecret);
      expect(declined.status).toBe(1);
      expect(declined.stdout).toContain('This retires 1 key(s) still signing that this secret cannot unseal:');
      expect(declined.stdout).toMatch(new RegExp(`\\s${stillSigning}\\s+ES256\\s+created \\d{4}-`));
      expect(declined.stdout).toContain('If COATCHECK_SECRET is mistyped, stop here.');
      expect(declined.stdout).toContain('coatcheck: not replaced: the answer was not "replace" (nothing was written)');
      expect(listed()).toEqual(ring);

      const confirmed = coatcheckOnTerminal(['keys', 'rotate', '--replace-unreadable'], 'replace\n', newSecret);
      expect(confirmed.status).toBe(0);
      expect(confirmed.stdout).toContain('retired 1 key(s) sealed under another secret: instances still on it');
      expect(listed().find((key) => key.kid === stillSigning)).toMatchObject({ status: 'retired' });
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
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

  it('a Redis key prefix with braces is refused before anything opens (they would change hash slots)', () => {
    const reply = coatcheck(['serve'], { env: { COATCHECK_REDIS_PREFIX: 'cc{tenant}' } });
    expect([reply.status, reply.stderr]).toEqual([
      1,
      'coatcheck: COATCHECK_REDIS_PREFIX must be 1 to 64 of the characters A-Z a-z 0-9 _ . : -\n',
    ]);
  });
});
