import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// SECURITY.md 13: secrets (signing keys, HMAC secrets) are never in the repository. Two halves: no
// tracked file holds a private key, and what `coatcheck serve` generates (DATA_DIR/secret.key and
// the SQLite file with the sealed keys, in ./data by default) is ignored by git.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const inGit = existsSync(`${ROOT}.git`);
const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });

// A PEM private key, a private JWK member (EC/OKP/RSA "d", symmetric "k"), or a hex secret assigned
// to COATCHECK_SECRET.
const SECRET =
  /-----BEGIN [A-Z ]*PRIVATE KEY-----|"(?:d|k)"\s*:\s*"[A-Za-z0-9_-]{32,}"|COATCHECK_SECRET\s*=\s*["']?[0-9a-f]{32,}/;

describe.runIf(inGit)('the repository', () => {
  it('tracks no file that holds a private key or a secret', () => {
    const files = git('ls-files', '-z').split('\0').filter(Boolean);
    expect(files.length).toBeGreaterThan(50);
    const leaking = files.filter((file) => {
      if (!existsSync(`${ROOT}${file}`)) return false;
      const bytes = readFileSync(`${ROOT}${file}`);
      return !bytes.includes(0) && SECRET.test(bytes.toString('utf8'));
    });
    expect(leaking).toEqual([]);
  });

  it('ignores what serve generates in its default data directory', () => {
    for (const path of ['data/secret.key', 'data/coatcheck.db', 'data/coatcheck.db-wal']) {
      expect(git('check-ignore', '--no-index', path).trim()).toBe(path);
    }
  });
});
