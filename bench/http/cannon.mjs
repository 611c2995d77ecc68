// The load generator, in a process of its own: autocannon against one URL, a warm-up run that is
// discarded, then the measured run. Prints { rps, p50, p99, requests, non2xx, errors } as JSON.
// Input (argv[2], JSON): { url, headers, connections, warmupSeconds, seconds, rate }.
import autocannon from 'autocannon';

const input = JSON.parse(process.argv[2]);

function run(seconds) {
  return autocannon({
    url: input.url,
    headers: input.headers ?? {},
    connections: input.connections ?? 32,
    duration: seconds,
    ...(input.rate ? { overallRate: input.rate } : {}),
  });
}

if (input.warmupSeconds > 0) await run(input.warmupSeconds);
const result = await run(input.seconds);
process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  })}\n`,
);
