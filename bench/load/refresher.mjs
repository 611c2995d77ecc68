// Refresh traffic, in a process of its own: one loop per refresh family, each POSTing
// /auth/refresh (native mode) with the token the previous answer gave, as a client must: every
// refresh rotates. Counts the refreshes answered in the measured window, after a warm-up.
// Input (argv[2], JSON): { base, tokens, warmupSeconds, seconds }. Prints { rate, done, failed, p50, p99 }.
import { performance } from 'node:perf_hooks';
import http from 'node:http';
import { percentile } from '../lib/stats.mjs';

const { base, tokens, warmupSeconds, seconds } = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: tokens.length });
const url = new URL('/auth/refresh', base);

function refresh(token) {
  const body = JSON.stringify({ refreshToken: token });
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () =>
          response.statusCode === 200
            ? resolve(JSON.parse(text).refreshToken)
            : reject(new Error(`${response.statusCode} ${text}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const started = performance.now();
const measureFrom = started + warmupSeconds * 1000;
const measureTo = measureFrom + seconds * 1000;
const latencies = [];
let failed = 0;
await Promise.all(
  tokens.map(async (initial) => {
    let token = initial;
    while (performance.now() < measureTo) {
      const sent = performance.now();
      try {
        token = await refresh(token);
      } catch {
        failed++;
        return;
      }
      const done = performance.now();
      if (sent >= measureFrom && done <= measureTo) latencies.push(done - sent);
    }
  }),
);
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    rate: latencies.length / seconds,
    done: latencies.length,
    failed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  })}\n`,
);
