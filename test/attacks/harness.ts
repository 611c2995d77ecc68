import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { JWK } from 'jose';
import pg from 'pg';
import { hashSecret } from '../../src/core/random.js';
import type { RefreshFamilyRecord, SessionRecord, UserRecord } from '../../src/store/types.js';
import type { SqliteStore } from '../../src/stores/sqlite/index.js';
import { deriveKey, unseal } from '../../src/tokens/seal.js';
import {
  call,
  PASSWORD,
  SESSION_COOKIE,
  sessionCookieOf,
  startTestServer,
  uniqueEmail,
  type CallOptions,
  type Reply,
  type TestServer,
} from '../helpers/server.js';
import { postgresUrl, probePostgres, redisUrl, requireService } from '../helpers/services.js';
import { REFRESH_COOKIE, refreshCookieOf } from '../helpers/tokens.js';
import { deleteKeysUnder } from '../store/redis-helpers.js';

// The attack catalogue's harness: a real `coatcheck serve` on each store, enrolled victims, a
// snapshot of everything an attack could change, and a raw socket for what fetch will not send.

export type StoreKind = 'sqlite' | 'postgres' | 'postgres+redis';
export type Mode = 'session' | 'token' | 'native';
export const MODES: readonly Mode[] = ['session', 'token', 'native'];
export const TOKEN_MODES: readonly Mode[] = ['token', 'native'];

export interface Target {
  kind: StoreKind;
  server: TestServer;
  /** The secret sealing the signing keys (an attacker who has it can forge; the catalogue uses it for "signed by us" rows). */
  secret: string;
  /** The demo notes of a user, read from the database (not over HTTP, which would touch the session). */
  countNotes(userId: string): Promise<number>;
  close(): Promise<void>;
}

async function probeRedis(): Promise<void> {
  const redis = new Redis(redisUrl(), { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

/** Whether the services a store kind needs are up: skips loudly on a laptop, fails on CI (requireService). */
export async function servicesFor(kind: StoreKind): Promise<boolean> {
  if (kind === 'sqlite') return true;
  if (!(await requireService('postgres', probePostgres))) return false;
  return kind === 'postgres' || requireService('redis', probeRedis);
}

/** Starts `coatcheck serve` on the given store kind; Postgres gets a schema of its own, dropped by `close`. */
export async function startTarget(kind: StoreKind): Promise<Target> {
  if (kind === 'sqlite') {
    const server = await startTestServer();
    const database = (server.store as SqliteStore).database;
    const notes = database.prepare<[string], number>('SELECT count(*) FROM demo_notes WHERE user_id = ?').pluck();
    return {
      kind,
      server,
      secret: readFileSync(join(server.dataDir, 'secret.key'), 'utf8').trim(),
      countNotes: (userId) => Promise.resolve(notes.get(userId) ?? 0),
      close: () => server.stop(),
    };
  }
  const schema = `cc_attacks_${kind === 'postgres' ? 'pg' : 'pgr'}_${process.pid}_${randomBytes(3).toString('hex')}`;
  // Sessions under a prefix of their own, deleted by `close` with the schema.
  const redisPrefix = `cc-attacks-${process.pid}-${randomBytes(3).toString('hex')}`;
  const secret = randomBytes(32).toString('hex');
  const server = await startTestServer({
    env: {
      DATABASE_URL: postgresUrl(),
      COATCHECK_DATABASE_SCHEMA: schema,
      COATCHECK_SECRET: secret,
      COATCHECK_MIGRATE_ON_START: '1',
      ...(kind === 'postgres+redis' ? { REDIS_URL: redisUrl(), COATCHECK_REDIS_PREFIX: redisPrefix } : {}),
    },
  });
  const client = new pg.Client({ connectionString: postgresUrl() });
  client.on('error', () => undefined);
  await client.connect();
  return {
    kind,
    server,
    secret,
    async countNotes(userId) {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".demo_notes WHERE user_id = $1`,
        [userId],
      );
      return Number(rows[0]?.n ?? 0);
    },
    async close() {
      await server.stop();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
      if (kind === 'postgres+redis') {
        const redis = new Redis(redisUrl());
        await deleteKeysUnder(redis, redisPrefix);
        redis.disconnect();
      }
    },
  };
}

/** A user logged in through one mode, with every credential that login gave. */
export interface Victim {
  mode: Mode;
  email: string;
  password: string;
  userId: string;
  /** The public id of the device: `session.id`, or the access token's `sid`. */
  sessionId: string;
  /** The session cookie's secret (session mode). */
  cookie?: string;
  accessToken?: string;
  refreshToken?: string;
}

export const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

/** Registers a user and logs in with `mode`. */
export async function enrol(
  server: TestServer,
  mode: Mode,
  options: { email?: string; password?: string; headers?: Record<string, string> } = {},
): Promise<Victim> {
  const email = options.email ?? uniqueEmail(`cat-${mode}`);
  const password = options.password ?? PASSWORD;
  const registered = await call(server, 'POST', '/auth/register', { json: { email, password } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const login = await call(server, 'POST', '/auth/login', {
    json: { email, password, mode },
    headers: options.headers ?? {},
  });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  const userId = (registered.body as { user: { id: string } }).user.id;
  if (mode === 'session') {
    return { mode, email, password, userId, sessionId: login.body.session.id, cookie: sessionCookieOf(login)! };
  }
  const accessToken = login.body.accessToken as string;
  const refreshToken = (mode === 'native' ? login.body.refreshToken : refreshCookieOf(login)) as string;
  return { mode, email, password, userId, sessionId: claimsOf(accessToken).sid as string, accessToken, refreshToken };
}

export const sessionCookieHeader = (secret: string): string => `${SESSION_COOKIE}=${secret}`;
export const refreshCookieHeader = (token: string): string => `${REFRESH_COOKIE}=${token}`;

/** Headers with which the victim's own client proves who it is. */
export function credentials(victim: Victim): Record<string, string> {
  return victim.mode === 'session'
    ? { Cookie: sessionCookieHeader(victim.cookie!) }
    : { Authorization: `Bearer ${victim.accessToken!}` };
}

/** What a browser attaches to a request by itself: the victim's cookies (none in native mode). */
export function ambientCookies(victim: Victim): Record<string, string> {
  if (victim.mode === 'session') return { Cookie: sessionCookieHeader(victim.cookie!) };
  if (victim.mode === 'token') return { Cookie: refreshCookieHeader(victim.refreshToken!) };
  return {};
}

/** Everything about a victim that an attack could change. */
export interface Snapshot {
  user: UserRecord | null;
  sessions: SessionRecord[];
  family: RefreshFamilyRecord | null;
  notes: number;
}

export async function snapshot(target: Target, victim: Victim): Promise<Snapshot> {
  const { store } = target.server;
  return {
    user: await store.users.findById(victim.userId),
    sessions: await store.sessions.listByUser(victim.userId),
    family: victim.refreshToken ? await store.refreshFamilies.findByTokenHash(hashSecret(victim.refreshToken)) : null,
    notes: await target.countNotes(victim.userId),
  };
}

/** Whether the victim's credential still gets them in (skipped for an access token past its lifetime). */
export async function stillWorks(target: Target, victim: Victim): Promise<Reply | null> {
  if (victim.accessToken && (claimsOf(victim.accessToken).exp as number) * 1000 <= target.server.clock.now()) {
    return null;
  }
  return call(target.server, 'GET', '/auth/me', { headers: credentials(victim) });
}

/** The server's current signing key, unsealed with the secret, as an attacker who stole both would hold it. */
export interface OurKey {
  kid: string;
  alg: string;
  key: KeyObject;
  publicJwk: JWK;
}

export async function ourKey(target: Target): Promise<OurKey> {
  const current = target.server.auth.tokens!.ring.current();
  const sealed = await unseal(current.record.privateJwkSealed, deriveKey(target.secret, 'signing-key-seal'));
  const jwk = JSON.parse(sealed!) as JWK;
  return {
    kid: current.kid,
    alg: current.alg,
    key: createPrivateKey({ key: jwk as never, format: 'jwk' }),
    publicJwk: current.publicJwk!,
  };
}

export interface RawReply {
  /** 0 when the server answered nothing before closing or the timeout. */
  status: number;
  headers: [string, string][];
  body: string;
  /** Everything received, for checks on the wire format itself. */
  wire: string;
}

export const headerValues = (reply: RawReply, name: string): string[] =>
  reply.headers.filter(([key]) => key.toLowerCase() === name.toLowerCase()).map(([, value]) => value);

/**
 * Sends bytes on a fresh TCP connection and parses the first response. `parts` are written with
 * `gapMs` between them; the reply is read until the server closes or `timeoutMs` passes.
 */
export function rawRequest(
  server: { port: number },
  parts: (string | Buffer)[],
  options: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawReply> {
  const { gapMs = 0, timeoutMs = 5000 } = options;
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRaw(Buffer.concat(chunks).toString('latin1')));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const parsed = parseRaw(Buffer.concat(chunks).toString('latin1'));
      if (parsed.complete) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (error) => {
      // A reset after the server answered (it refused the rest of our body) is not a failure.
      if (chunks.length > 0) finish();
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('connect', () => {
      void (async () => {
        for (const [i, part] of parts.entries()) {
          if (done || socket.destroyed) return;
          if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
          if (!socket.destroyed) socket.write(part);
        }
      })();
    });
  });
}

function parseRaw(wire: string): RawReply & { complete: boolean } {
  const end = wire.indexOf('\r\n\r\n');
  if (end === -1) return { status: 0, headers: [], body: '', wire, complete: false };
  const [statusLine = '', ...lines] = wire.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
  });
  const body = wire.slice(end + 4);
  const length = headers.find(([key]) => key.toLowerCase() === 'content-length')?.[1];
  const complete = length !== undefined && Buffer.byteLength(body, 'latin1') >= Number(length);
  return { status, headers, body, wire, complete };
}

/** An HTTP/1.1 request as text, with `Connection: close` so the reply ends with the connection. */
export function httpRequest(
  method: string,
  target: string,
  headers: Record<string, string | number>,
  body = '',
): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export type { CallOptions, Reply };
