// Work per request: the instructions a server executes to answer one request, counted by
// valgrind's callgrind (user space, every thread: the JIT's code, the garbage collector, native
// modules). The count moves far less than requests/s with what else the machine is doing, so it
// shows whether a share in the HTTP section is the code's or the machine's noise. It is not time:
// cache misses, system calls and the kernel's network work are not in it.
//
// Per variant: its server starts under valgrind with instrumentation off, logs in, answers a
// warm-up (the JIT settles), then instrumentation is switched on for the measured requests only.
// Skipped, with a line saying so, when valgrind is not installed. --quick's short warm-up leaves the
// JIT unsettled: its counts run higher than a full run's and are not comparable with them.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { emit, log, quick } from '../lib/section.mjs';
import { probeServices } from '../lib/services.mjs';
import { start, VARIANTS } from './variants.mjs';

// Under valgrind the JIT takes far more requests to settle than natively: after 3,000 the heavier
// servers were still compiling (session mode on Redis counted 945k instructions per request, 119k
// of them TurboFan's; after 20,000, 879k and 61k), while the ceiling's count hardly moved (660k,
// 654k). Too short a warm-up counts compilation as the request's work, and more for the heavier servers.
const WARMUP_REQUESTS = quick ? 500 : 20_000;
const REQUESTS = quick ? 500 : 3_000;
const CONNECTIONS = 10;
// Not the seeds' jsonwebtoken stack: at about 6.5x the ceiling's instructions it alone would take minutes.
// bearer-strict: the strict target's reading by work, beside its alternating pairs of the HTTP section.
const IDS = ['ceiling', 'seeds-session', 'session-redis', 'session-sqlite', 'bearer', 'bearer-strict'];
const run = promisify(execFile);

async function valgrindVersion() {
  try {
    return (await run('valgrind', ['--version'])).stdout.trim();
  } catch {
    return null;
  }
}

async function requests(server, amount) {
  const result = await autocannon({ url: server.url, headers: server.headers, connections: CONNECTIONS, amount });
  if (result.non2xx > 0 || result.errors > 0 || result.requests.total !== amount) {
    throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.requests.total} of ${amount}`);
  }
}

async function instructionsPerRequest(variant) {
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-bench-work-'));
  const wrapper = [
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    // V8 writes and rewrites the machine code it runs.
    '--smc-check=all-non-file',
    `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
  ];
  const server = await start(variant, { wrapper, readyTimeoutMs: 120_000 });
  try {
    await requests(server, WARMUP_REQUESTS);
    await run('callgrind_control', ['--instr=on', String(server.pid)]);
    await requests(server, REQUESTS);
    await run('callgrind_control', ['--instr=off', String(server.pid)]);
    await run('callgrind_control', ['--dump', String(server.pid)]);
    const dump = readdirSync(dir).find((name) => name.startsWith('callgrind.out.'));
    const totals = dump && /^totals: (\d+)$/m.exec(readFileSync(join(dir, dump), 'utf8'));
    if (!totals) throw new Error(`${variant.name}: no callgrind totals in ${dir}`);
    return Number(totals[1]) / REQUESTS;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const version = await valgrindVersion();
const services = await probeServices();
const rows = [];
for (const id of IDS) {
  const variant = VARIANTS.find((v) => v.id === id);
  if (!version) rows.push({ id, name: variant.name, skip: 'valgrind not installed' });
  else if (variant.needs && !services[variant.needs].ok) {
    rows.push({ id, name: variant.name, skip: `${variant.needs} not available` });
  } else {
    const perRequest = await instructionsPerRequest(variant);
    log(`${variant.name}: ${Math.round(perRequest)} instructions per request`);
    rows.push({ id, name: variant.name, perRequest, target: variant.target ?? null });
  }
}
const ceiling = rows.find((row) => row.id === 'ceiling' && !row.skip);
for (const row of rows) if (ceiling && !row.skip) row.shareOfCeiling = ceiling.perRequest / row.perRequest;
const [bearer, strict] = ['bearer', 'bearer-strict'].map((id) => rows.find((row) => row.id === id && !row.skip));
emit({
  section: 'work',
  rows,
  strictVsNormal: bearer && strict ? bearer.perRequest / strict.perRequest : null,
  settings: { valgrind: version, warmup: WARMUP_REQUESTS, requests: REQUESTS, connections: CONNECTIONS },
});
