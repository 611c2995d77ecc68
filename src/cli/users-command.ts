import { parseArgs } from 'node:util';
import { createAuth } from '../create-auth.js';
import { AuthError } from '../core/errors.js';
import { normalizeEmail } from '../core/email.js';
import type { ServerConfig } from '../server/config.js';
import { openRevocationFeed, openSqlStore } from '../server/open-stores.js';
import { roleChangeEvent } from '../revocation/role-change.js';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS } from '../tokens/options.js';
import { readPassword } from './read-password.js';

const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;

/** `coatcheck users add|set-role|list`, working on the same data directory as `serve`. */
export async function runUsers(config: ServerConfig, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (sub !== 'add' && sub !== 'set-role' && sub !== 'list')
    throw new TypeError('users needs one of: add, set-role, list');
  // Only `add` may start a store: `list` reads, and `set-role` needs a user already there.
  const { sql: store, postgres } = await openSqlStore(config, { existing: sub !== 'add' });
  const auth = createAuth({
    store,
    origin: config.origin,
    allowInsecureHttp: config.allowInsecureHttp,
    purgeInterval: 0,
  });
  try {
    switch (sub) {
      case 'add': {
        if (!values.email) throw new TypeError('users add needs --email');
        if (values.role !== undefined && !ROLE.test(values.role))
          throw new TypeError('a role is 1-32 of a-z, 0-9, _ and -');
        const password = await readPassword(`Password for ${values.email}: `);
        if (password === '') throw new TypeError('no password given (on stdin, or at the prompt)');
        try {
          const user = await auth.createUser({
            email: values.email,
            password,
            name: values.name ?? null,
            ...(values.role ? { role: values.role } : {}),
          });
          process.stdout.write(`created ${user.id} ${user.email} (${user.role})\n`);
          return 0;
        } catch (error) {
          if (error instanceof AuthError) {
            const reasons = error.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
            process.stderr.write(`coatcheck: ${error.code}${reasons ? ` (${reasons})` : ''}\n`);
            return 1;
          }
          throw error;
        }
      }
      case 'set-role': {
        const email = normalizeEmail(values.email ?? '');
        if (!email || !values.role) throw new TypeError('users set-role needs --email and --role');
        const user = await store.users.findByEmail(email);
        if (!user) {
          process.stderr.write(`coatcheck: no user with email ${email}\n`);
          return 1;
        }
        if (!(await auth.setRole(user.id, values.role))) {
          process.stderr.write(`coatcheck: no user with email ${email}\n`);
          return 1;
        }
        process.stdout.write(`${user.email}: role ${user.role} -> ${values.role}\n`);
        // Awaited here: the store closes in `finally`, and the feed publishes through its pool.
        return await tellInstances(config, postgres, user.id, values.role);
      }
      case 'list': {
        const users = await store.users.list({ limit: 10_000 });
        if (values.json) {
          const rows = users.map((u) => ({
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            createdAt: new Date(u.createdAt).toISOString(),
          }));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        } else {
          for (const u of users)
            process.stdout.write(`${u.id}\t${u.role}\t${u.email}\t${new Date(u.createdAt).toISOString()}\n`);
          if (users.length === 0) process.stdout.write('no users yet\n');
        }
        return 0;
      }
      default:
        throw new TypeError('users needs one of: add, set-role, list');
    }
  } finally {
    await auth.close();
    await store.close();
  }
}

/**
 * Where instances share a revocation feed (Postgres, Redis), their strict routes take the role
 * from the access token and refuse only the tokens the feed names: so the change goes out through
 * it, as `serve`'s own role changes do, or the old role's tokens would pass until they expire.
 */
async function tellInstances(
  config: ServerConfig,
  postgres: Parameters<typeof openRevocationFeed>[1],
  userId: string,
  role: string,
): Promise<number> {
  const feed = openRevocationFeed(config, postgres);
  if (!feed) return 0;
  const ttl = config.tokens.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  try {
    await feed.publish(roleChangeEvent(userId, role, Date.now(), ttl));
    return 0;
  } catch {
    process.stderr.write(
      `coatcheck: the role is changed, but the running instances could not be told (the revocation feed failed): their strict routes may accept the old role's access tokens for up to ${ttl} s; run the command again\n`,
    );
    return 1;
  } finally {
    await feed.close();
  }
}
