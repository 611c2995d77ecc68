import { expect } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import {
  claimsOf,
  stillWorks,
  type CallOptions,
  type Mode,
  type OurKey,
  type RawReply,
  type Reply,
  type Snapshot,
  type Target,
  type Victim,
} from './harness.js';

export type Area = 'token' | 'session' | 'refresh' | 'csrf' | 'login' | 'redirect' | 'http' | 'privilege';

/** The exact answer an attack must get: a status, and the problem `code` when there is a body. */
export interface Outcome {
  status: number;
  code?: string;
}

export interface AttackContext {
  target: Target;
  server: TestServer;
  mode: Mode;
  /** A freshly enrolled user, logged in through `mode`: the one the attack is aimed at. */
  victim: Victim;
  /** One request with fetch (Origin defaults to ours on unsafe methods, as `call` does). */
  send(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Bytes on a raw socket, for what fetch refuses to send (CR/LF, Host, smuggling, trickling). */
  raw(parts: (string | Buffer)[], options?: { gapMs?: number; timeoutMs?: number }): Promise<Reply>;
  /** Another user (the attacker, or a bystander), logged in through `mode` unless told otherwise. */
  enrol(mode?: Mode, options?: { email?: string; password?: string }): Promise<Victim>;
  /** Our current signing key, for rows about tokens signed by us with bad claims. */
  key(): Promise<OurKey>;
  /** What `send` learned that `verify` needs (a chosen cookie, a second user). */
  scratch: Record<string, any>;
}

export type Verify = (ctx: AttackContext, before: Snapshot, after: Snapshot, replies: Reply[]) => Promise<void> | void;

/** One row of the catalogue: one attack, what it must get, and what must (not) have changed. */
export interface AttackRow {
  id: string;
  area: Area;
  /** What is sent, in a line. */
  attack: string;
  /** The login modes of the victim it runs against. */
  modes: readonly Mode[];
  /** In the representative subset that also runs on Postgres and Postgres+Redis. */
  everyStore?: boolean;
  expect: Outcome;
  /** Sends the attack; every reply returned must have exactly `expect`. */
  send(ctx: AttackContext): Promise<Reply | Reply[]>;
  /** Replaces the default check ("nothing changed, and the victim is still logged in"). */
  verify?: Verify;
  /** Runs after the default check. */
  check?: Verify;
}

/** The default after-check: the victim's records are exactly as before and their credential still works. */
export async function unchanged(ctx: AttackContext, before: Snapshot, after: Snapshot): Promise<void> {
  expect(after).toEqual(before);
  const me = await stillWorks(ctx.target, ctx.victim);
  if (me) expect([me.status, me.body?.user?.id]).toEqual([200, ctx.victim.userId]);
}

/** The victim's device is gone (an expected change: logout, reuse detection). */
export async function deviceEnded(ctx: AttackContext): Promise<void> {
  expect(await ctx.server.store.sessions.findById(ctx.victim.sessionId)).toBeNull();
}

/** Converts a raw-socket reply to the shape fetch replies have. */
export function asReply(raw: RawReply): Reply {
  const headers = new Headers();
  const cookies: string[] = [];
  for (const [name, value] of raw.headers) {
    if (name.toLowerCase() === 'set-cookie') cookies.push(value);
    try {
      headers.append(name, value);
    } catch {
      // A header Headers cannot hold is kept in `text` for the checks that look for it.
    }
  }
  let body: unknown;
  try {
    body = raw.body === '' ? undefined : JSON.parse(raw.body);
  } catch {
    body = undefined;
  }
  return { status: raw.status, headers, body, text: raw.wire, cookies };
}

export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
export { claimsOf };
