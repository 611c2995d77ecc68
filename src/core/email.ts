import { domainToASCII } from 'node:url';

const MAX_EMAIL_LENGTH = 254;
// Printable, no spaces, no angle brackets or quotes: we accept the addresses people actually use,
// not every form RFC 5322 allows.
const LOCAL_PART = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\u00A0-\uFFFF-]+$/u;
const ASCII_DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/**
 * The canonical form of an email address, or `null` if it is not one we accept.
 * NFKC, trimmed, lower-cased, with an internationalised domain in its ASCII (punycode) form, so
 * `Ann@Example.COM` and `ann@example.com` are one account.
 */
export function normalizeEmail(input: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001F\u007F-\u009F\u2028\u2029]/.test(input)) return null;
  // Invisible format characters (bidi overrides, soft hyphens), surrogates, private-use and
  // unassigned code points make look-alike addresses or cannot be stored as UTF-8.
  if (/[\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u.test(input)) return null;
  const trimmed = input.normalize('NFKC').trim();
  if (trimmed.length === 0 || trimmed.length > MAX_EMAIL_LENGTH) return null;
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) return null;
  const local = trimmed.slice(0, at).toLowerCase();
  const domain = domainToASCII(trimmed.slice(at + 1).toLowerCase());
  if (local.length > 64 || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return null;
  if (!LOCAL_PART.test(local) || domain === '' || !ASCII_DOMAIN.test(domain)) return null;
  const email = `${local}@${domain}`;
  return email.length <= MAX_EMAIL_LENGTH ? email : null;
}
