// The servers the HTTP sections measure (bench/http/throughput.mjs for requests/s,
// bench/http/work.mjs for instructions per request), and how to start one and log in to it.
/* global fetch -- Node 20 has it; the lint config lists only a few globals for .mjs */
import { coatcheckLogin, expressSessionLogin, jsonwebtokenLogin, registerUser } from '../lib/credentials.mjs';
import { freePort, startNode, stop, waitReady } from '../lib/processes.mjs';
import { startServe } from '../lib/serve.mjs';
import { redisUrl } from '../lib/services.mjs';

const server = (name) => `bench/http/servers/${name}.mjs`;
const coatcheck = (env) => ({ script: server('coatcheck'), env: { REDIS_URL: redisUrl, ...env } });
const cookieLogin = async (base) => coatcheckLogin(base, await registerUser(base), 'session');
const bearerLogin = async (base) => coatcheckLogin(base, await registerUser(base), 'native');

/** `seeds`: which seeds' stack a row compares with. */
export const VARIANTS = [
  { id: 'ceiling', name: 'Express 5, no auth (ceiling)', ...{ script: server('no-auth') }, prepare: async () => ({}) },
  {
    id: 'ceiling-again',
    name: 'Express 5, no auth, a fresh server (control)',
    ...{ script: server('no-auth') },
    prepare: async () => ({}),
  },
  {
    id: 'seeds-session',
    name: "express-session + connect-redis (seeds' session stack)",
    script: server('express-session'),
    env: { REDIS_URL: redisUrl },
    needs: 'redis',
    prepare: expressSessionLogin,
  },
  {
    id: 'seeds-jwt',
    name: "jsonwebtoken HS256 middleware (seeds' JWT stack)",
    script: server('jsonwebtoken'),
    prepare: jsonwebtokenLogin,
  },
  {
    id: 'session-redis',
    name: 'coatcheck session, Redis store (+SQLite users)',
    ...coatcheck({ BENCH_STORE: 'redis' }),
    needs: 'redis',
    seeds: 'seeds-session',
    target: 0.8,
    prepare: cookieLogin,
  },
  {
    id: 'session-sqlite',
    name: 'coatcheck session, SQLite store',
    ...coatcheck({ BENCH_STORE: 'sqlite' }),
    seeds: 'seeds-session',
    target: 0.85,
    prepare: cookieLogin,
  },
  {
    id: 'bearer',
    name: 'coatcheck bearer ES256',
    ...coatcheck({ BENCH_TOKENS: '1', BENCH_FEED: '1' }),
    needs: 'redis',
    seeds: 'seeds-jwt',
    target: 0.9,
    prepare: bearerLogin,
  },
  {
    id: 'bearer-strict',
    name: 'coatcheck bearer ES256, strict (revocation list)',
    ...coatcheck({ BENCH_TOKENS: '1', BENCH_FEED: '1', BENCH_STRICT: '1' }),
    needs: 'redis',
    seeds: 'seeds-jwt',
    prepare: bearerLogin,
  },
  {
    id: 'serve-session',
    name: '`coatcheck serve`, session (GET /api/notes)',
    serve: true,
    path: '/api/notes',
    seeds: 'seeds-session',
    prepare: cookieLogin,
  },
  {
    id: 'serve-bearer',
    name: '`coatcheck serve`, bearer ES256 (GET /api/notes)',
    serve: true,
    path: '/api/notes',
    seeds: 'seeds-jwt',
    prepare: bearerLogin,
  },
];

/**
 * Starts a variant's server and logs in; `close()` stops it. `wrapper` runs node under another
 * command (valgrind, for bench/http/work.mjs), which may need a longer `readyTimeoutMs`.
 */
export async function start(variant, { wrapper = [], readyTimeoutMs } = {}) {
  const server = variant.serve
    ? await startServe({}, { wrapper, readyTimeoutMs })
    : await startScript(variant, { wrapper, readyTimeoutMs });
  try {
    const { headers } = await variant.prepare(server.base);
    const url = `${server.base}${variant.path ?? '/api/profile'}`;
    const check = await fetch(url, { headers });
    await check.arrayBuffer();
    if (check.status !== 200) throw new Error(`${variant.name}: GET ${url} answered ${check.status}`);
    return { url, headers, close: server.close, pid: server.child.pid };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** A bench server script (bench/http/servers/), ready to answer. */
async function startScript(variant, { wrapper, readyTimeoutMs }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = startNode(variant.script, { env: { PORT: String(port), ...variant.env }, wrapper });
  try {
    await waitReady(child, `${base}/healthz`, readyTimeoutMs);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { base, child, close: () => stop(child) };
}
