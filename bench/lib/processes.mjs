// Starting and stopping the processes a section measures: servers, the load generator.
/* global fetch -- Node 20 has it; the lint config lists only a few globals for .mjs */
import { setTimeout, clearTimeout } from 'node:timers';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { sleep } from './stats.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `node <script> ...args` with extra environment, under `wrapper` (a command and its
 * arguments, such as valgrind) when given; its output is kept for error reports.
 */
export function startNode(script, { args = [], env = {}, nodeArgs = [], wrapper = [] } = {}) {
  const [command, ...prefix] = [...wrapper, process.execPath];
  const child = spawn(command, [...prefix, ...nodeArgs, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.output = '';
  child.stdout.on('data', (chunk) => (child.output += chunk));
  child.stderr.on('data', (chunk) => (child.output += chunk));
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

/** Waits until `url` answers 200, or fails with the process's output. */
export async function waitReady(child, url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not become ready:\n${child.output.slice(-2_000)}`);
}

export async function stop(child) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await child.exited;
    clearTimeout(timer);
  }
}

/** Runs `node <script> <json>` to completion and parses the last stdout line as JSON. */
export async function runJson(script, input, { env = {} } = {}) {
  const child = startNode(script, { args: [JSON.stringify(input)], env });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const { code } = await child.exited;
  const last = stdout.trim().split('\n').pop();
  if (code !== 0 || !last) throw new Error(`${script} failed (${code}):\n${child.output.slice(-2_000)}`);
  return JSON.parse(last);
}
