// Starting `coatcheck serve` (dist/cli/main.js) for a section, with a temp data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORIGIN } from './credentials.mjs';
import { freePort, startNode, stop, waitReady } from './processes.mjs';

export const BENCH_SECRET = 'a bench secret of at least thirty-two bytes';

/**
 * Starts `coatcheck serve`; `env` adds e.g. REDIS_URL or DATABASE_URL, `wrapper` runs node under
 * another command (valgrind), which may need a longer `readyTimeoutMs`. Returns { base, close }.
 */
export async function startServe(env = {}, { wrapper = [], readyTimeoutMs } = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-bench-serve-'));
  const child = startNode('dist/cli/main.js', {
    args: ['serve'],
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      COATCHECK_ORIGIN: ORIGIN,
      COATCHECK_DATA_DIR: dataDir,
      COATCHECK_SECRET: BENCH_SECRET,
      // Request log lines off: the bench measures the auth path, not log shipping.
      LOG_LEVEL: 'warn',
      REDIS_URL: '',
      DATABASE_URL: '',
      ...env,
    },
    wrapper,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(child, `${base}/healthz`, readyTimeoutMs);
  } catch (error) {
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    base,
    child,
    async close() {
      await stop(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
