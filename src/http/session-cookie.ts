import type { ResolvedOptions } from '../core/options.js';
import { serializeCookie } from './cookies.js';

/** An auth cookie's name and attributes, fixed at setup from the origin. */
export interface AuthCookie {
  name: string;
  /** `Set-Cookie` value carrying `secret`, living until `expiresAt` (Unix ms). */
  set(secret: string, expiresAt: number, now: number): string;
  /** `Set-Cookie` value that deletes the cookie. */
  clear(): string;
}

export function createSessionCookie(options: ResolvedOptions): AuthCookie {
  // `__Host-` pins the cookie to this exact host, https (or loopback) and Path=/, so a sibling
  // subdomain cannot plant or overwrite it (cookie tossing).
  const name = options.secureCookies ? '__Host-coatcheck.sid' : 'coatcheck.sid';
  const base = { path: '/', httpOnly: true, secure: options.secureCookies, sameSite: 'Lax' as const };
  return {
    name,
    set: (secret, expiresAt, now) => serializeCookie(name, secret, { ...base, maxAge: (expiresAt - now) / 1000 }),
    clear: () => serializeCookie(name, '', { ...base, maxAge: 0 }),
  };
}
