import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI } from './helpers/cli.js';

// The README's Express example, run as a user would paste it: taken from the README itself, so the
// front door cannot drift from what works. Only its port (3000, maybe taken) is changed. It lives
// in a folder inside this package, so `import 'coatcheck'` resolves to this package by its name.
const root = fileURLToPath(new URL('..', import.meta.url));
const folder = join(root, 'test-output', `readme-example-${process.pid}`);
let app: ChildProcess;
let base: string;

function readmeExpressExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('Use it in an Express app'));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README: no js block after "Use it in an Express app"');
  return match[1]!;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does this first)');
  const port = await freePort();
  const source = readmeExpressExample();
  expect(source.split('\n').filter(Boolean).length).toBeLessThanOrEqual(10);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'app.mjs'), source.replaceAll('3000', String(port)));
  app = spawn(process.execPath, ['app.mjs'], { cwd: folder, stdio: ['ignore', 'ignore', 'pipe'] });
  base = `http://localhost:${port}`;
  let stderr = '';
  app.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let tries = 0; ; tries += 1) {
    const up = await fetch(`${base}/api/profile`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (tries > 100 || app.exitCode !== null) throw new Error(`the README example did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 30_000);

afterAll(() => {
  app?.kill();
  rmSync(folder, { recursive: true, force: true });
});

it('the README Express example registers, logs in, guards its routes and refuses a user as admin', async () => {
  const json = { 'Content-Type': 'application/json', Origin: base };
  const credentials = JSON.stringify({ email: 'readme@example.com', password: 'a long passphrase' });
  const registered = await fetch(`${base}/auth/register`, { method: 'POST', headers: json, body: credentials });
  expect(registered.status).toBe(201);
  const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: json, body: credentials });
  expect(login.status).toBe(200);
  const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
  expect(cookie).toMatch(/^__Host-coatcheck\.sid=/);
  const { user } = (await login.json()) as { user: { id: string } };

  expect((await fetch(`${base}/api/profile`)).status).toBe(401);
  const profile = await fetch(`${base}/api/profile`, { headers: { Cookie: cookie } });
  expect([profile.status, await profile.json()]).toEqual([200, { userId: user.id }]);
  const admin = await fetch(`${base}/api/admin`, { headers: { Cookie: cookie } });
  expect([admin.status, ((await admin.json()) as { code: string }).code]).toEqual([403, 'forbidden']);
});
