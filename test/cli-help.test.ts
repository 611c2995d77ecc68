import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli.js';

let dataDir: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does this first)');
  dataDir = join(mkdtempSync(join(tmpdir(), 'coatcheck-help-')), 'data');
});
afterAll(() => {
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

describe('coatcheck <command> --help', () => {
  // An operator who asks a command for help gets the usage, not "Unknown option", and nothing runs.
  const asked = [
    ['serve', '--help'],
    ['migrate', '-h'],
    ['users', '--help'],
    ['users', 'add', '--help'],
    ['users', 'set-role', '--email', 'a@example.com', '--help'],
    ['keys', '--help'],
    ['keys', 'rotate', '--help'],
    ['decode', '--help'],
    ['decode', 'eyJ.eyJ.x', '-h'],
  ];
  it.each(asked)('%s %s prints the usage, exits 0 and creates nothing', (...args: string[]) => {
    const run = runCli(args, { env: { COATCHECK_DATA_DIR: dataDir, PORT: '1' } });
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(/^coatcheck: sessions, tokens/);
    expect(run.stdout).toContain('coatcheck keys rotate --replace-unreadable');
    expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
  });

  it('a --help after -- is an argument, not a request for help', () => {
    const run = runCli(['decode', '--', '--help']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
  });
});
