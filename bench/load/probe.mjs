// Open-loop latency probe, in a process of its own: GET `url` at a fixed `rate` for `seconds`, each
// request sent at its scheduled time (a stalled server cannot slow the schedule down, so stalls
// show up as latency instead of disappearing), over up to 16 keep-alive connections. Latency is
// measured from the scheduled time (or from the send, when a timer fired early) to the end of the
// response, in milliseconds with µs precision.
// Input (argv[2], JSON): { url, headers, rate, seconds }. Prints { sent, failed, p50, p99, max }.
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import http from 'node:http';
import { percentile } from '../lib/stats.mjs';

const { url, headers = {}, rate, seconds } = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const latencies = [];
let failed = 0;

function get(scheduled) {
  // A request sent early (the loop below sends at once what is due within 1 ms, and timers have
  // millisecond granularity) counts from when it left, so no latency is ever negative; one sent
  // late counts from its schedule, so a stalled probe still shows.
  const from = Math.min(scheduled, performance.now());
  return new Promise((resolve) => {
    const request = http.get(url, { agent, headers }, (response) => {
      response.resume();
      response.on('end', () => {
        if (response.statusCode === 200) latencies.push(performance.now() - from);
        else failed++;
        resolve();
      });
    });
    request.on('error', () => {
      failed++;
      resolve();
    });
  });
}

const total = Math.round(rate * seconds);
const pending = [];
const start = performance.now() + 10;
for (let i = 0; i < total; i++) {
  const scheduled = start + (i * 1000) / rate;
  const wait = scheduled - performance.now();
  if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  pending.push(get(scheduled));
}
await Promise.all(pending);
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    sent: total,
    failed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
  })}\n`,
);
