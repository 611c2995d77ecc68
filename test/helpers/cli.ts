import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The built CLI, exactly as `npm start` and `npx coatcheck` run it (`npm test` builds first).
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliOptions {
  input?: string;
  env?: Record<string, string>;
}

/** Runs the CLI to its end, logging silenced, with `input` on its stdin (not a terminal). */
export function runCli(args: string[], options: CliOptions = {}) {
  // The browser tests' own variable is not the CLI's: it would only add an unknown-setting warning.
  const { COATCHECK_CHROMIUM: _harnessOnly, ...inherited } = process.env;
  return spawnSync(process.execPath, [CLI, ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...inherited, LOG_LEVEL: 'silent', ...options.env },
    timeout: 20_000,
  });
}
