import { StoreUnavailableError } from '../core/errors.js';

/**
 * The one line a failed command prints. A store that could not be reached says why (the server's own
 * words: no such database, authentication failed, connection refused): the operator cannot fix
 * "the store failed". Only the operator sees it; an HTTP client only ever gets `store_unavailable`.
 */
export function operatorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof StoreUnavailableError)) return message;
  const reason = reasonOf(error.cause);
  return reason && reason !== message ? `${message}: ${reason}` : message;
}

function reasonOf(cause: unknown): string | undefined {
  // A refused connection to `localhost` (IPv6 and IPv4 both tried) is an AggregateError with no message.
  if (cause instanceof AggregateError && cause.message === '') return reasonOf(cause.errors[0]);
  if (cause instanceof StoreUnavailableError && cause.cause !== undefined) return reasonOf(cause.cause);
  if (cause instanceof Error) return cause.message || (cause as { code?: string }).code;
  return undefined;
}
