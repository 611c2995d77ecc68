import pg from 'pg';

// External services the Postgres and Redis suites need. On a laptop without them those suites are
// skipped, loudly; on CI (`CI=true` or `CI=1`) a missing service fails the run instead, so a broken
// service container can never turn into a green build that tested nothing.

export type ServiceName = 'postgres' | 'redis';

export function postgresUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci === 'true' || ci === '1';
}

/**
 * True when `probe` resolves. When it rejects: on CI, throws (the service is required there);
 * elsewhere, prints one `[coatcheck] SKIPPING <name> suites: <reason>` line to stderr and returns false.
 *
 * @example
 * const available = await requireService('postgres', probePostgres);
 * describe.runIf(available)('postgres store', () => { ... });
 */
export async function requireService(name: ServiceName, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    const reason = describeFailure(error);
    if (isCi()) {
      throw new Error(`${name} is required on CI, but it could not be reached: ${reason}`, { cause: error });
    }
    process.stderr.write(`[coatcheck] SKIPPING ${name} suites: ${reason}\n`);
    return false;
  }
}

/** Connects to `postgresUrl()` and runs `SELECT 1`, giving up after 2 s. */
export async function probePostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl(), connectionTimeoutMillis: 2_000 });
  // A failure after connect (the server going away) must reject the probe, not crash the run.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A one-line reason; connection refusals to `localhost` arrive as an AggregateError with no message. */
function describeFailure(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return describeFailure(error.errors[0]);
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    return error.message || code || error.name;
  }
  return String(error);
}
