import type { UserRecord } from '../store/types.js';
import type { RouteDeps } from './routes.js';

/**
 * For a login that has made its session but not answered yet: true when the password it checked
 * is still the user's. Otherwise (a password change landed meanwhile), or when that cannot be
 * known, the session is deleted before anyone holds its cookie or tokens, so that a password change
 * ends every other session, however a login with the old password overlapped it.
 */
export async function keepSessionIfPasswordStillHolds(
  deps: Pick<RouteDeps, 'accounts' | 'options'>,
  user: UserRecord,
  password: string,
  sessionId: string,
): Promise<boolean> {
  const drop = () => deps.options.store.sessions.delete(sessionId).catch(() => false);
  let holds: boolean;
  try {
    holds = await deps.accounts.passwordStillHolds(user, password);
  } catch (error) {
    await drop();
    throw error;
  }
  if (!holds) {
    await drop();
    deps.options.logger.info({ event: 'login.failed', reason: 'password_changed' }, 'login failed');
  }
  return holds;
}
