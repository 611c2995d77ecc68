/**
 * The logging surface coatcheck writes to (pino-compatible). coatcheck logs events and public
 * identifiers only: never passwords, tokens, session secrets, or hashes of them.
 */
export interface AuthLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: AuthLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
