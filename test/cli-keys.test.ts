import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli as coatcheck } from './helpers/cli.js';

// `coatcheck keys`: each test keeps its keys in a data directory of its own, named in its env.

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does this first)');
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
        return JSON.parse(result.stdout) as {
          kid: string;
          status: string;
          retiredAt: string | null;
          unsealable: boolean | null;
        }[];
      };

      // Nothing to list yet: refused, and the directory stays empty (no database, no secret).
      const empty = keys(['list']);
      expect([empty.status, empty.stdout, empty.stderr]).toEqual([
        1,
        '',
        `coatcheck: ${join(keysDir, 'coatcheck.db')} does not exist (is COATCHECK_DATA_DIR the directory \`coatcheck serve\` uses?); nothing was created\n`,
      ]);
      expect(readdirSync(keysDir)).toEqual([]);

      const rotated = keys(['rotate']);
      expect([rotated.status, rotated.stderr]).toEqual([0, '']);
      expect(rotated.stdout).toMatch(/^new signing key \S+ \(ES256\): in the JWKS now, signing from /);
      const ring = listed();
      expect(ring.map((key) => [key.status, key.unsealable])).toEqual([
        ['signing', true],
        ['published', true],
      ]);
      const text = keys(['list']);
      expect(text.stdout).toMatch(/^\S+\tES256\tsigning\tcreated \S+\texpires \S+\tthis secret unseals it\n/);

      // A shell with the wrong secret (or another algorithm) sees the states the store records, the
      // same as the fleet's, and apart from them which keys its secret cannot unseal; it changes nothing.
      const states = ring.map((key) => [key.kid, key.status]);
      const statuses = (env: Record<string, string>) => listed(env).map((key) => [key.kid, key.status, key.unsealable]);
      const anotherSecret = { COATCHECK_SECRET: 'another secret of at least thirty-two bytes' };
      expect(statuses(anotherSecret)).toEqual(states.map((state) => [...state, false]));
      expect(keys(['list'], anotherSecret).stdout).toContain('\tsigning\tcreated ');
      expect(keys(['list'], anotherSecret).stdout).toContain('\tthis secret cannot unseal it\n');
      expect(statuses({ COATCHECK_JWT_ALG: 'EdDSA' })).toEqual(states.map((state) => [...state, true]));
      // Nor may it rotate: the fleet could not unseal the new key, and its own would be retired.
      const stranger = keys(['rotate'], anotherSecret);
      expect([stranger.status, stranger.stdout]).toEqual([1, '']);
      expect(stranger.stderr).toMatch(
        /^coatcheck: 1 signing key\(s\) in the store, not retired, cannot be unsealed with this secret \(COATCHECK_SECRET, or the tokens\.secret option\): is it the one the other instances use\? .*--replace-unreadable` \(in code, `rotate\(\{ replaceUnreadable: true \}\)`\) with the new one, then restart every instance with it\n$/,
      );
      expect(listed()).toEqual(ring);
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('refuses to list a data directory that does not exist, creating neither a database nor a secret', () => {
    const parent = mkdtempSync(join(tmpdir(), 'coatcheck-cli-keys-'));
    try {
      const missing = join(parent, 'ro');
      for (const args of [['list'], ['list', '--json']]) {
        const refused = coatcheck(['keys', ...args], { env: { COATCHECK_DATA_DIR: missing } });
        expect([refused.status, refused.stdout, refused.stderr]).toEqual([
          1,
          '',
          `coatcheck: the data directory ${missing} does not exist (check COATCHECK_DATA_DIR); nothing was created\n`,
        ]);
      }
      expect(readdirSync(parent)).toEqual([]);

      // A store whose secret is given in the environment: listing without it makes no secret file.
      const env = { COATCHECK_DATA_DIR: missing, COATCHECK_SECRET: 'the fleet secret, of at least thirty-two bytes' };
      expect(coatcheck(['keys', 'rotate'], { env }).status).toBe(0);
      const withoutSecret = coatcheck(['keys', 'list', '--json'], { env: { COATCHECK_DATA_DIR: missing } });
      expect([withoutSecret.status, withoutSecret.stderr]).toEqual([0, '']);
      expect(
        (JSON.parse(withoutSecret.stdout) as { status: string; unsealable: null }[]).map((key) => [
          key.status,
          key.unsealable,
        ]),
      ).toEqual([
        ['signing', null],
        ['published', null],
      ]);
      expect(existsSync(join(missing, 'secret.key'))).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  // Thirteen CLI processes one after another: about 10 s on an idle 2-core machine, over 20 s under load.
  it('refuses to serve under a secret that cannot unseal the keys still signing, until they are replaced on purpose', () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-keys-'));
    const newSecret = { COATCHECK_SECRET: 'the new secret, of at least thirty-two bytes' };
    try {
      const run = coatcheckIn(keysDir);
      const listed = (env: Record<string, string> = {}) => {
        const result = run(['keys', 'list', '--json'], env);
        expect([result.status, result.stderr]).toEqual([0, '']);
        return JSON.parse(result.stdout) as {
          kid: string;
          status: string;
          retiredAt: string | null;
          unsealable: boolean | null;
        }[];
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
        'coatcheck: --replace-unreadable would retire 1 key(s) still signing that this secret (COATCHECK_SECRET) cannot unseal, and every instance still on their secret would refuse to start; it asks first when stdin and stderr are both a terminal, or, if this is the new secret and not a typo, add --yes (no key was changed)\n',
      ]);
      expect(listed()).toEqual(ring);

      // A change of secret on purpose: the old keys retire as in any rotation, the new one signs.
      const replaced = run(['keys', 'rotate', '--replace-unreadable', '--yes'], newSecret);
      expect([replaced.status, replaced.stderr]).toEqual([0, '']);
      expect(replaced.stdout).toMatch(
        /^new signing key \S+ \(ES256\): in the JWKS now; instances on this secret sign with it from their start\nretired 1 key\(s\) sealed under another secret: instances still on the other secret refuse to start from now on/,
      );
      // The store's states are the same whatever the secret: the old keys are scheduled to retire,
      // and the new one is the only one left; one key signs (which, depends on how long ago each was
      // published). Which of them this secret unseals is said apart.
      const afterReplacement = listed(newSecret);
      expect(afterReplacement.map((key) => [key.retiredAt === null, key.unsealable])).toEqual([
        [false, false],
        [false, false],
        [true, true],
      ]);
      expect(afterReplacement.filter((key) => key.status === 'signing')).toHaveLength(1);
      expect(afterReplacement.at(-1)?.status).not.toBe('retired');
      expect(listed().map((key) => key.status)).toEqual(afterReplacement.map((key) => key.status));
      // The old secret is refused from now on; the new one rotates plainly, and has nothing left to replace.
      const oldSecret = run(['serve']);
      expect([oldSecret.status, oldSecret.stdout]).toEqual([1, '']);
      expect(oldSecret.stderr).toMatch(/^coatcheck: 1 signing key\(s\) in the store, not retired, cannot be unsealed /);
      expect(run(['keys', 'rotate'], newSecret).status).toBe(0);
      const nothingLeft = run(['keys', 'rotate', '--replace-unreadable'], newSecret);
      expect([nothingLeft.status, nothingLeft.stderr]).toEqual([
        1,
        `coatcheck: --replace-unreadable: no key still signing in ${keysDir} is sealed under another secret; nothing to replace (a plain rotation is \`coatcheck keys rotate\`)\n`,
      ]);
      expect(run(['keys', 'list', '--replace-unreadable']).stderr).toBe(
        'coatcheck: --replace-unreadable goes with rotate\n',
      );
      expect(run(['keys', 'rotate', '--yes']).stderr).toBe('coatcheck: --yes goes with --replace-unreadable\n');
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** The CLI on the store in `dataDir`, as `serve` would be configured there, with `env` on top. */
function coatcheckIn(dataDir: string) {
  return (args: string[], env: Record<string, string> = {}) =>
    coatcheck(args, {
      env: {
        COATCHECK_DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        COATCHECK_ORIGIN: 'http://localhost:3000',
        ...env,
      },
    });
}

/** The CLI on a pseudo-terminal (util-linux `script`), with `typed` typed into it. */
function coatcheckOnTerminal(args: string[], typed: string, env: Record<string, string>) {
  const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
  return spawnSync('script', ['-qec', [process.execPath, CLI, ...args].map(quote).join(' '), '/dev/null'], {
    input: typed,
    encoding: 'utf8',
    // `script` runs the command with $SHELL -c: a plain POSIX shell, whatever the caller's.
    env: { ...process.env, SHELL: '/bin/sh', LOG_LEVEL: 'silent', ...env },
    timeout: 20_000,
  });
}

/** The CLI on a pseudo-terminal, to type into once it has written what the test waits for. */
function coatcheckOnTerminalLive(args: string[], env: Record<string, string>) {
  const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
  const child = spawn('script', ['-qec', [process.execPath, CLI, ...args].map(quote).join(' '), '/dev/null'], {
    env: { ...process.env, SHELL: '/bin/sh', LOG_LEVEL: 'silent', ...env },
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const done = new Promise<{ status: number | null; output: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, output }));
  });
  return {
    /** Resolves once `text` is on the terminal; rejects, with what it shows, if the CLI ends or 10 s pass first. */
    async waitFor(text: string): Promise<void> {
      const started = Date.now();
      let ended = false;
      void done.then(
        () => (ended = true),
        () => (ended = true),
      );
      while (!output.includes(text)) {
        if (ended || Date.now() - started > 10_000) {
          throw new Error(`the terminal never showed ${JSON.stringify(text)}; it showed: ${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    type: (text: string) => child.stdin.end(text),
    done,
    stop: () => child.kill('SIGKILL'),
  };
}

describe('coatcheck keys rotate --replace-unreadable on a terminal', () => {
  it('replaces nothing when the keys changed while it waited for the answer', async () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-keys-'));
    const env = { COATCHECK_DATA_DIR: keysDir };
    const newSecret = { ...env, COATCHECK_SECRET: 'the new secret, of at least thirty-two bytes' };
    const listed = () => JSON.parse(coatcheck(['keys', 'list', '--json'], { env }).stdout) as { kid: string }[];
    let asking: ReturnType<typeof coatcheckOnTerminalLive> | undefined;
    try {
      expect(coatcheck(['keys', 'rotate'], { env }).status).toBe(0);
      asking = coatcheckOnTerminalLive(['keys', 'rotate', '--replace-unreadable'], newSecret);
      await asking.waitFor('Type "replace" to go on: ');
      // An instance on the old secret rotates while the operator reads the list.
      expect(coatcheck(['keys', 'rotate'], { env }).status).toBe(0);
      const meanwhile = listed();
      asking.type('replace\n');
      const { status, output } = await asking.done;
      expect(status).toBe(1);
      expect(output).toContain(
        'coatcheck: --replace-unreadable: the keys sealed under another secret changed meanwhile (an instance on the old secret started or rotated); no key was changed: run it again',
      );
      expect(listed()).toEqual(meanwhile);
    } finally {
      asking?.stop();
      rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('lists what it would retire, and goes on only when "replace" is typed', async () => {
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
      expect(declined.stdout).toContain(
        'This retires 1 key(s) still signing that this secret (COATCHECK_SECRET) cannot unseal:',
      );
      expect(declined.stdout).toMatch(new RegExp(`\\s${stillSigning}\\s+ES256\\s+created \\d{4}-`));
      expect(declined.stdout).toContain('If this secret is mistyped, stop here.');
      // Not "cancelled": the typed answer reached the prompt.
      expect(declined.stdout).toContain('coatcheck: not replaced: the answer was not "replace" (no key was changed)');
      expect(listed()).toEqual(ring);

      // Ctrl-D on an empty line at the prompt cancels. Typed once the prompt is up: sent before
      // node has put the terminal in raw mode, the line discipline can swallow it (seen once on
      // CI: the CLI then waited out the test's 20 s).
      const cancelling = coatcheckOnTerminalLive(['keys', 'rotate', '--replace-unreadable'], newSecret);
      try {
        await cancelling.waitFor('Type "replace" to go on: ');
        cancelling.type('\u0004');
        const cancelled = await cancelling.done;
        expect(cancelled.status).toBe(1);
        expect(cancelled.output).toContain('coatcheck: not replaced: cancelled (no key was changed)');
      } finally {
        cancelling.stop();
      }
      expect(listed()).toEqual(ring);

      const confirmed = coatcheckOnTerminal(['keys', 'rotate', '--replace-unreadable'], 'replace\n', newSecret);
      expect(confirmed.status).toBe(0);
      expect(confirmed.stdout).toContain('retired 1 key(s) sealed under another secret: instances still on the other');
      expect(listed().find((key) => key.kid === stillSigning)).toMatchObject({ status: 'retired' });
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  });
});

describe('coatcheck keys rotate --change-algorithm', () => {
  it('is how the algorithm changes: serve and a plain rotation on another algorithm are refused, writing nothing', () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-keys-'));
    const run = coatcheckIn(keysDir);
    const listed = () =>
      JSON.parse(run(['keys', 'list', '--json']).stdout) as { alg: string; retiredAt: string | null }[];
    const eddsa = { COATCHECK_JWT_ALG: 'EdDSA' };
    try {
      expect(run(['keys', 'rotate']).status).toBe(0);
      const before = listed();
      for (const args of [['serve'], ['keys', 'rotate']]) {
        const refused = run(args, eddsa);
        expect([refused.status, refused.stdout]).toEqual([1, '']);
        expect(refused.stderr).toMatch(
          /^coatcheck: the store's keys sign with ES256, and this ring is configured for EdDSA .*`coatcheck keys rotate --change-algorithm`.*\n$/,
        );
      }
      expect(listed()).toEqual(before);
      expect(run(['keys', 'rotate', '--change-algorithm']).stderr).toBe(
        "coatcheck: --change-algorithm: the store's keys already sign with ES256; nothing to change (a plain rotation is `coatcheck keys rotate`)\n",
      );

      const changed = run(['keys', 'rotate', '--change-algorithm'], eddsa);
      expect([changed.status, changed.stderr]).toEqual([0, '']);
      expect(changed.stdout).toMatch(
        /^new signing key \S+ \(EdDSA\): in the JWKS now, signing from \S+; .*\nrestart every instance with COATCHECK_JWT_ALG=EdDSA before \S+; instances on another algorithm refuse to start from now on\n$/,
      );
      expect(listed().map((key) => [key.alg, key.retiredAt === null])).toEqual([
        ['ES256', false],
        ['ES256', false],
        ['EdDSA', true],
      ]);
      const oldAlgorithm = run(['serve']);
      expect([oldAlgorithm.status, oldAlgorithm.stdout]).toEqual([1, '']);
      expect(oldAlgorithm.stderr).toMatch(
        /^coatcheck: the store's keys sign with EdDSA, and this ring is configured for ES256 /,
      );
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  });
});

describe('coatcheck keys rotate --replace-unreadable without a secret', () => {
  it("refuses an empty or missing secret, rather than replace the fleet's keys with keys sealed under one nobody gave", () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-keys-'));
    const file = join(keysDir, 'secret.key');
    const fleet = { COATCHECK_DATA_DIR: keysDir, COATCHECK_SECRET: 'the fleet secret, of at least thirty-two bytes' };
    const replace = (env: Record<string, string>) => {
      const result = coatcheck(['keys', 'rotate', '--replace-unreadable', '--yes'], { env });
      return [result.status, result.stdout, result.stderr];
    };
    try {
      expect(coatcheck(['keys', 'rotate'], { env: fleet }).status).toBe(0);
      const before = coatcheck(['keys', 'list', '--json'], { env: fleet }).stdout;
      // No secret given, no file: a random one would be made up for the occasion.
      expect(replace({ COATCHECK_DATA_DIR: keysDir })).toEqual([
        1,
        '',
        `coatcheck: --replace-unreadable needs the new secret: set COATCHECK_SECRET to it, or write it into ${file} (which does not exist); no key was changed\n`,
      ]);
      expect(existsSync(file)).toBe(false);
      // What `COATCHECK_SECRET="$(cat new-secret)"` sets when that file is missing; refused even
      // where a secret file exists (left over, say, from before the fleet moved to COATCHECK_SECRET).
      writeFileSync(file, 'a leftover secret, of at least thirty-two bytes\n', { mode: 0o600 });
      expect(replace({ ...fleet, COATCHECK_SECRET: '' })).toEqual([
        1,
        '',
        `coatcheck: --replace-unreadable: COATCHECK_SECRET is set but empty (a $(cat file) that read nothing?); set it to the new secret, or unset it to use ${file}; no key was changed\n`,
      ]);
      expect(coatcheck(['keys', 'list', '--json'], { env: fleet }).stdout).toBe(before);
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  });
});
