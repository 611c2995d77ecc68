import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli.js';
import { ISSUER, refusingUrl, startJwksServer, type JwksServer } from './verify/jwks-server.js';

let jwks: JwksServer;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does this first)');
  jwks = await startJwksServer();
});
afterAll(async () => {
  await jwks.stop();
});

/** Runs `coatcheck decode` without blocking: the JWKS server runs in this process and must answer. */
function decode(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'decode', ...args], { env: { ...process.env, LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('coatcheck decode --jwks: an outage is not a bad token', () => {
  it('exits 3 and says why when the JWKS refuses the connection, answers 500, or is not JSON', async () => {
    const token = await jwks.sign();
    const refused = await decode([token, '--jwks', await refusingUrl()]);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/^coatcheck: could not fetch the JWKS at \S+: the request failed \(ECONNREFUSED\)/);
    expect(refused.stderr).toContain('the token was NOT checked');
    expect(refused.stdout).not.toContain('NOT valid');
    const seen: [number | null, string][] = [];
    try {
      for (const answer of ['error-500', 'html'] as const) {
        jwks.answer = answer;
        const reply = await decode([token, '--jwks', jwks.url]);
        seen.push([reply.status, reply.stderr]);
      }
    } finally {
      jwks.answer = 'keys';
    }
    expect(seen).toEqual([
      [3, expect.stringContaining(': it answered HTTP 500; the token was NOT checked')],
      [3, expect.stringContaining(': the response is not JSON; the token was NOT checked')],
    ]);
  });
});

describe('coatcheck decode --jwks: a token that is not valid, and why', () => {
  it('exits 1 naming the reason: signature, expiry, issuer, audience, unknown kid', async () => {
    const now = Math.floor(Date.now() / 1000);
    const [h, p] = (await jwks.sign()).split('.');
    const forged = `${h}.${p}.${(await jwks.sign({ jti: 'other' })).split('.')[2]}`;
    const checked = ['--issuer', ISSUER, '--audience', ISSUER];
    const cases: [string[], string][] = [
      [[forged], 'bad_signature'],
      [[await jwks.sign({ iat: now - 700, exp: now - 100 })], 'expired'],
      [[await jwks.sign({ iss: 'https://evil.example' }), ...checked], 'issuer_mismatch'],
      [[await jwks.sign({ aud: 'https://other.example' }), ...checked], 'audience_mismatch'],
      [[await jwks.sign({}, { kid: 'nobody' })], 'unknown_key'],
    ];
    // Five CLI processes at once (each loads jose and fetches the JWKS): the 60 s is for two busy cores.
    const replies = await Promise.all(cases.map(([args]) => decode([...args, '--jwks', jwks.url])));
    const verdicts = replies.map((reply) => [
      reply.status,
      reply.stdout.match(/NOT valid against \S+: .* \((\w+)\)\n/)?.[1],
    ]);
    expect(verdicts).toEqual(cases.map(([, reason]) => [1, reason]));
  }, 60_000);

  it('says when iss and aud were only compared with the token itself, and not when they were given', async () => {
    const token = await jwks.sign();
    const unchecked = await decode([token, '--jwks', jwks.url]);
    expect(unchecked.status).toBe(0);
    expect(unchecked.stdout).toContain('signature and claims verified');
    expect(unchecked.stdout).toContain(
      "note: iss and aud NOT checked, only compared with the token's own (pass --issuer and --audience to check)",
    );
    const half = await decode([token, '--jwks', jwks.url, '--issuer', ISSUER]);
    expect(half.stdout).toContain(
      "note: aud NOT checked, only compared with the token's own (pass --audience to check)",
    );
    const checked = await decode([token, '--jwks', jwks.url, '--issuer', ISSUER, '--audience', ISSUER]);
    expect([checked.status, checked.stdout.includes('note:')]).toEqual([0, false]);
  });

  it('documents --issuer, --audience and the exit codes in --help', () => {
    const help = runCli(['--help']).stdout;
    expect(help).toContain('coatcheck decode <jwt> [--jwks URL [--issuer I] [--audience A]]');
    expect(help).toMatch(/3 the JWKS could\s+not be fetched/);
  });
});
