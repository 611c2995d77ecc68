import type { UserRecord } from '../store/types.js';
import { problem } from './respond.js';
import type { RouteDeps } from './routes.js';

/** The refusal of a login whose new session was ended (a "log out everywhere") before it answered. */
export const endedBeforeAnswering = (): Response =>
  problem('unauthenticated', { detail: 'The session ended before the login finished: log in again.' });

/**
 * For a login that has made its session but not answered yet: `null` when the password it checked
 * is still the user's and the session still exists, else the refusal to answer. A password change
 * that landed meanwhile is `401 invalid_credentials`, and the session is deleted before anyone holds
 * its cookie or tokens, so that a password change ends every other session however a login with
 * the old password overlapped it. When that cannot be known (a store failure) the session is
 * deleted too, and the failure thrown.
 */
export async function refuseUnlessPasswordStillHolds(
  deps: Pick<RouteDeps, 'accounts' | 'options'>,
  user: UserRecord,
  password: string,
  sessionId: string,
): Promise<Response | null> {
  const { store, logger } = deps.options;
  const drop = () => store.sessions.delete(sessionId).catch(() => false);
  let holds: boolean;
  let exists: boolean;
  try {
    holds = await deps.accounts.passwordStillHolds(user, password);
    exists = holds && (await store.sessions.findById(sessionId)) !== null;
  } catch (error) {
    await drop();
    throw error;
  }
  if (holds && exists) return null;
  await drop();
  const reason = holds ? 'session_ended' : 'password_changed';
  logger.info({ event: 'login.failed', reason }, 'login failed');
  return holds ? endedBeforeAnswering() : problem('invalid_credentials');
}
