import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call } from '../helpers/server.js';
import {
  enrol,
  ourKey,
  rawRequest,
  snapshot,
  startTarget,
  type Mode,
  type Reply,
  type StoreKind,
  type Target,
} from './harness.js';
import { asReply, unchanged, type AttackContext, type AttackRow } from './row.js';
import { CSRF_ROWS } from './rows-csrf.js';
import { HTTP_AND_REDIRECT_ROWS } from './rows-http.js';
import { LOGIN_ROWS } from './rows-login.js';
import { REFRESH_ROWS } from './rows-refresh.js';
import { SESSION_ROWS } from './rows-sessions.js';
import { TOKEN_ROWS } from './rows-tokens.js';

/**
 * The attack catalogue: one row per attack, each with the exact answer it must get and a check
 * that nothing changed (or exactly what had to). `sqlite.test.ts` runs every row in every login
 * mode it applies to; `postgres.test.ts` and `postgres-redis.test.ts` run the rows marked
 * `everyStore`, a representative subset (a few per area, and every race), to keep the suite fast.
 */
export const CATALOGUE: AttackRow[] = [
  ...TOKEN_ROWS,
  ...SESSION_ROWS,
  ...REFRESH_ROWS,
  ...CSRF_ROWS,
  ...LOGIN_ROWS,
  ...HTTP_AND_REDIRECT_ROWS,
];

// Internals that must never reach a client: stack frames, file paths, SQL, library names.
const LEAK =
  /node_modules|\bat [\w.<>]+ \(|\.ts:\d+|\.js:\d+|SQLITE_|sqlite3|syntax error at|duplicate key value|ZodError|JWSSignature|JWTClaim|ioredis|ECONNREFUSED|argon2id\$|passwordHash|secretHash/i;

function suiteWideChecks(replies: Reply[]): void {
  for (const reply of replies) {
    expect(reply.status, 'never a server error').toBeLessThan(500);
    expect(reply.headers.get('location'), 'never a redirect').toBeNull();
    expect(reply.text, 'never an internal detail').not.toMatch(LEAK);
    for (const cookie of reply.cookies) expect(cookie, 'never a Domain-scoped cookie').not.toMatch(/Domain=/i);
  }
}

/** Registers the catalogue's tests for one store kind (skipped when its services are down). */
export function defineCatalogue(kind: StoreKind, available: boolean, rows: AttackRow[]): void {
  describe.runIf(available)(`attack catalogue on ${kind} (${rows.length} rows)`, () => {
    let target: Target;

    beforeAll(async () => {
      target = await startTarget(kind);
    }, 30_000);
    afterAll(async () => {
      await target?.close();
    });
    // Every row starts with the throttles of its address and accounts forgotten (they forget after an hour).
    beforeEach(() => target.server.clock.advance(61 * 60_000));

    for (const row of rows) {
      for (const mode of row.modes) {
        it(`${row.id} [${mode}] ${row.attack}`, async () => {
          await runRow(target, row, mode);
        });
      }
    }
  });
}

async function runRow(target: Target, row: AttackRow, mode: Mode): Promise<void> {
  const { server } = target;
  const replies: Reply[] = [];
  const victim = await enrol(server, mode);
  const ctx: AttackContext = {
    target,
    server,
    mode,
    victim,
    scratch: {},
    async send(method, path, options) {
      const reply = await call(server, method, path, options);
      replies.push(reply);
      return reply;
    },
    async raw(parts, options) {
      const reply = asReply(await rawRequest(server, parts, options));
      replies.push(reply);
      return reply;
    },
    enrol: (as = mode, options = {}) => enrol(server, as, options),
    key: () => ourKey(target),
  };

  const before = await snapshot(target, victim);
  const sent = await row.send(ctx);
  const answers = Array.isArray(sent) ? sent : [sent];
  expect(answers.length).toBeGreaterThan(0);
  for (const answer of answers) {
    expect({ status: answer.status, code: answer.body?.code }).toEqual({
      status: row.expect.status,
      code: row.expect.code,
    });
    if (answer.status === 401 && answer.headers.has('content-type')) {
      expect(answer.headers.get('www-authenticate')).toBe(
        row.expect.code === 'invalid_token'
          ? 'Bearer realm="coatcheck", error="invalid_token"'
          : 'Bearer realm="coatcheck"',
      );
    }
  }
  const after = await snapshot(target, victim);
  if (row.verify) await row.verify(ctx, before, after, answers);
  else await unchanged(ctx, before, after);
  if (row.check) await row.check(ctx, before, after, answers);
  suiteWideChecks(replies);
}
