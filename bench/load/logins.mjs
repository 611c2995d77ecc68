// Login traffic, in a process of its own: `rate` logins per second (each one argon2id on the
// server) for `seconds`, fired on a timer whether or not earlier ones have answered.
// Input (argv[2], JSON): { base, email, password, rate, seconds }. Prints { done, failed, p50, p99 } (ms).
/* global fetch -- Node 20 has it; the lint config lists only a few globals for .mjs */
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { percentile } from '../lib/stats.mjs';

const { base, email, password, rate, seconds } = JSON.parse(process.argv[2]);
const latencies = [];
let failed = 0;
const pending = [];

async function login() {
  const started = performance.now();
  try {
    const response = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:3000' },
      body: JSON.stringify({ email, password }),
    });
    await response.arrayBuffer();
    if (response.status !== 200) failed++;
    else latencies.push(performance.now() - started);
  } catch {
    failed++;
  }
}

const total = Math.round(rate * seconds);
const start = performance.now();
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  pending.push(login());
}
await Promise.all(pending);
process.stdout.write(
  `${JSON.stringify({ done: latencies.length, failed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) })}\n`,
);
