// coatcheck's benchmark: `npm run bench` (about 30 minutes), `npm run bench -- --quick` (about 5),
// `npm run -s bench -- --json` for machine-readable results, `--only=tokens,http` for some sections.
//
// It builds dist/ first, finds the local Redis and Postgres (saying so when one is missing, and
// skipping what needs it), runs each section in its own process, removes what it wrote to Redis
// and Postgres, and prints Markdown tables with the versions, the core count and the Node version.
// It is never part of `npm test`: timings depend on the machine, so no test asserts one.
//
// Sections (each a script that prints one JSON line; see docs/performance.md for what they mean):
//   tokens      bench/micro/tokens.mjs          verify and sign per operation, ratio to node:crypto
//   sessions    bench/micro/sessions.mjs        session validation per operation, per store
//   http        bench/http/throughput.mjs       req/s on a protected route, servers vs autocannon
//   work        bench/http/work.mjs             instructions per request of those servers (valgrind)
//   login-load  bench/load/login-under-load.mjs p99 of /auth/me idle and during 20 logins/s
//   refresh     bench/load/refresh.mjs          refreshes/s with rotation, Redis and Postgres
//   scale       bench/scale/sessions.mjs        lookups with 1k, 100k, 1M sessions; bytes per session
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { environment } from './lib/environment.mjs';
import { renderReport } from './lib/report.mjs';
import { ROOT } from './lib/processes.mjs';
import { cleanPostgres, cleanRedis, probeServices, redisHasServeKeys, REDIS_PREFIX } from './lib/services.mjs';

const SECTIONS = {
  tokens: 'bench/micro/tokens.mjs',
  sessions: 'bench/micro/sessions.mjs',
  http: 'bench/http/throughput.mjs',
  work: 'bench/http/work.mjs',
  'login-load': 'bench/load/login-under-load.mjs',
  refresh: 'bench/load/refresh.mjs',
  scale: 'bench/scale/sessions.mjs',
};

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const json = argv.includes('--json');
const only = argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
for (const name of only ?? []) if (!SECTIONS[name]) throw new Error(`unknown section ${name}`);
const say = (message) => process.stderr.write(`${message}\n`);

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${args.join(' ')} exited with ${code}`)),
    );
  });
}

say('Building dist/ (tsc -p tsconfig.build.json)');
await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);

const services = await probeServices();
for (const [name, status] of Object.entries(services)) {
  say(
    status.ok
      ? `${name}: found, version ${status.version}`
      : `${name}: NOT available (${status.reason}); its rows are skipped`,
  );
}
const serveKeysBefore = services.redis.ok ? await redisHasServeKeys() : true;
const cleanUp = async () => {
  if (services.redis.ok) {
    // `coatcheck serve` runs use the default key layout; remove it only if it was not there before.
    const patterns = serveKeysBefore ? [REDIS_PREFIX] : [REDIS_PREFIX, 'cc:', 'coatcheck:'];
    await cleanRedis(...patterns);
  }
  if (services.postgres.ok) await cleanPostgres();
};
await cleanUp();

// Taken before the sections run: what dist/ was just built from, even if HEAD moves meanwhile.
const measured = await environment(services);
const started = new Date();
const loadBefore = loadavg();
const results = {};
try {
  for (const [name, script] of Object.entries(SECTIONS)) {
    if (only && !only.includes(name)) continue;
    say(`\n== ${name}${quick ? ' (quick)' : ''}`);
    const output = await run(process.execPath, [script, ...(quick ? ['--quick'] : [])]);
    results[name] = JSON.parse(output.trim().split('\n').pop());
  }
} finally {
  await cleanUp();
}

const atEnd = (await environment(services)).coatcheck;
if (atEnd !== measured.coatcheck) measured.coatcheck += `; the work tree was at ${atEnd} by the end`;
const report = {
  environment: measured,
  started: started.toISOString(),
  minutes: (Date.now() - started.getTime()) / 60_000,
  quick,
  loadAverage: { before: loadBefore, after: loadavg() },
  results,
};
process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
