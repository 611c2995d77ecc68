import { readFileSync } from 'node:fs';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

let commonPasswords: Set<string> | undefined;

function loadCommonPasswords(): Set<string> {
  if (!commonPasswords) {
    const text = readFileSync(new URL('../../assets/common-passwords.txt', import.meta.url), 'utf8');
    commonPasswords = new Set(text.split('\n').filter((line) => line !== '' && !line.startsWith('#')));
  }
  return commonPasswords;
}

/**
 * Passwords are compared and hashed in NFKC so that the same password typed on two keyboards
 * (composed or decomposed accents, full-width digits) is the same password (NIST SP 800-63B 5.1.1.2).
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Length in characters (code points), not UTF-16 units. */
export function passwordLength(password: string): number {
  let count = 0;
  for (const _ of password) count++;
  return count;
}

export type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'same_as_email';

/** Why a new password is refused, or `null` if it is acceptable. Expects a normalised password. */
export function checkNewPassword(password: string, options: { email?: string } = {}): PasswordProblem | null {
  const length = passwordLength(password);
  if (length < MIN_PASSWORD_LENGTH) return 'too_short';
  if (length > MAX_PASSWORD_LENGTH) return 'too_long';
  const lower = password.toLowerCase();
  if (loadCommonPasswords().has(lower)) return 'common';
  if (options.email && (lower === options.email || lower === options.email.split('@')[0])) return 'same_as_email';
  return null;
}

export function describePasswordProblem(problem: PasswordProblem): string {
  switch (problem) {
    case 'too_short':
      return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
    case 'too_long':
      return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
    case 'common':
      return 'This password is among the most common ones; choose another.';
    case 'same_as_email':
      return 'The password must not be your email address.';
  }
}
