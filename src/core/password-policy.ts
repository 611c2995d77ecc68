import { readFileSync } from 'node:fs';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

/**
 * The list sorted into one string, with the offset of each line (and one past the last). As a
 * `Set` its 18,000 strings were 1.4 MB of heap objects for the life of the process, which every
 * garbage collection of a busy server pays for; this is one 170 kB string and a 72 kB array.
 */
interface SortedList {
  text: string;
  starts: Uint32Array;
}

let commonPasswords: SortedList | undefined;

function loadCommonPasswords(): SortedList {
  if (!commonPasswords) {
    const text = readFileSync(new URL('../../assets/common-passwords.txt', import.meta.url), 'utf8');
    const lines = [...new Set(text.split('\n').filter((line) => line !== '' && !line.startsWith('#')))].sort();
    const starts = new Uint32Array(lines.length + 1);
    let offset = 0;
    lines.forEach((line, index) => {
      starts[index] = offset;
      offset += line.length + 1;
    });
    starts[lines.length] = offset;
    commonPasswords = { text: `${lines.join('\n')}\n`, starts };
  }
  return commonPasswords;
}

/** `text.slice(start, end)` against `word` in the order `Array.prototype.sort` gives strings, without the slice. */
function compareAt(text: string, start: number, end: number, word: string): number {
  const length = Math.min(end - start, word.length);
  for (let i = 0; i < length; i++) {
    const difference = text.charCodeAt(start + i) - word.charCodeAt(i);
    if (difference !== 0) return difference;
  }
  return end - start - word.length;
}

function isCommonPassword(lower: string): boolean {
  const { text, starts } = loadCommonPasswords();
  let low = 0;
  let high = starts.length - 2;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const order = compareAt(text, starts[middle]!, starts[middle + 1]! - 1, lower);
    if (order === 0) return true;
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return false;
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
  if (isCommonPassword(lower)) return 'common';
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
      return 'The password must not be your email address or the part of it before the @.';
  }
}
