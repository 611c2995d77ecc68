import type { ResolvedOptions } from '../core/options.js';
import { serializeCookie } from './cookies.js';
import type { AuthCookie } from './session-cookie.js';

/**
 * The refresh-token cookie of `token` mode: HttpOnly, SameSite=Strict, and scoped to the auth
 * base path so it is sent to `/auth/refresh` and `/auth/logout` and nowhere else.
 */
export function createRefreshCookie(options: ResolvedOptions): AuthCookie {
  const name = options.secureCookies ? '__Secure-coatcheck.rt' : 'coatcheck.rt';
  const base = { path: options.basePath, httpOnly: true, secure: options.secureCookies, sameSite: 'Strict' as const };
  return {
    name,
    set: (secret, expiresAt, now) => serializeCookie(name, secret, { ...base, maxAge: (expiresAt - now) / 1000 }),
    clear: () => serializeCookie(name, '', { ...base, maxAge: 0 }),
  };
}
