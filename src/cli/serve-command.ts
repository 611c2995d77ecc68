import type { ServerConfig } from '../server/config.js';
import { startServer } from '../server/serve.js';

/** Runs the server until SIGINT/SIGTERM, then shuts down gracefully. Resolves -1: keep running. */
export async function runServe(config: ServerConfig): Promise<number> {
  const running = await startServer(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`coatcheck: ${signal} received, finishing in-flight requests\n`);
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return -1;
}
