// p99 of GET /auth/me (cookie session) at a fixed request rate, idle and while 20 logins per
// second run (argon2id must stay off the event loop). `coatcheck serve` on SQLite; the latency
// probe (bench/load/probe.mjs: open loop, µs precision, which autocannon's whole milliseconds are
// too coarse for) and the login traffic each in their own process. Idle and loaded phases
// alternate; medians reported.
import { coatcheckLogin, registerUser } from '../lib/credentials.mjs';
import { runJson } from '../lib/processes.mjs';
import { startServe } from '../lib/serve.mjs';
import { emit, log, quick } from '../lib/section.mjs';
import { median, sleep } from '../lib/stats.mjs';

const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 4 : 10;
const LOGINS_PER_SECOND = 20;
// Well under saturation, so latency measures stalls rather than queueing.
const REQUESTS_PER_SECOND = 500;

const serve = await startServe();
const phases = { idle: [], loaded: [], logins: [] };
try {
  const reader = await registerUser(serve.base);
  const { headers } = await coatcheckLogin(serve.base, reader, 'session');
  const loginUser = await registerUser(serve.base);
  const probe = (seconds) =>
    runJson('bench/load/probe.mjs', { url: `${serve.base}/auth/me`, headers, rate: REQUESTS_PER_SECOND, seconds });
  await probe(quick ? 1 : 3);
  for (let round = 0; round < ROUNDS; round++) {
    phases.idle.push(await probe(SECONDS));
    const logins = runJson('bench/load/logins.mjs', {
      base: serve.base,
      ...loginUser,
      rate: LOGINS_PER_SECOND,
      seconds: SECONDS + 2,
    });
    await sleep(1_000);
    phases.loaded.push(await probe(SECONDS));
    phases.logins.push(await logins);
    const last = phases.loaded.at(-1);
    log(
      `round ${round + 1}/${ROUNDS}: p99 idle ${phases.idle.at(-1).p99.toFixed(2)} ms, under logins ${last.p99.toFixed(2)} ms`,
    );
  }
} finally {
  await serve.close();
}
for (const result of [...phases.idle, ...phases.loaded]) {
  if (result.failed > 0) throw new Error(`/auth/me failed: ${JSON.stringify(result)}`);
}
const idleP99 = median(phases.idle.map((r) => r.p99));
const loadedP99 = median(phases.loaded.map((r) => r.p99));
emit({
  section: 'login-load',
  rate: REQUESTS_PER_SECOND,
  loginsPerSecond: LOGINS_PER_SECOND,
  idle: { p50: median(phases.idle.map((r) => r.p50)), p99: idleP99 },
  loaded: { p50: median(phases.loaded.map((r) => r.p50)), p99: loadedP99 },
  ratio: loadedP99 / idleP99,
  logins: {
    done: phases.logins.reduce((sum, r) => sum + r.done, 0),
    failed: phases.logins.reduce((sum, r) => sum + r.failed, 0),
    p50: median(phases.logins.map((r) => r.p50)),
    p99: median(phases.logins.map((r) => r.p99)),
  },
  rounds: ROUNDS,
  seconds: SECONDS,
});
