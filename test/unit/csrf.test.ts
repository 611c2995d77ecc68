import { describe, expect, it } from 'vitest';
import { isUnsafeMethod, passesCsrfCheck } from '../../src/http/csrf.js';

const ORIGIN = 'https://app.example.com';
const allowed: ReadonlySet<string> = new Set([ORIGIN, 'https://admin.example.com']);

function check(headers: Record<string, string>, requireHeader: boolean): boolean {
  const h = new Headers(headers);
  return passesCsrfCheck((name) => h.get(name), allowed, { requireHeader });
}

describe('passesCsrfCheck', () => {
  it.each<[string, Record<string, string>, boolean, boolean]>([
    // label, headers, requireHeader, expected
    ['Sec-Fetch-Site same-origin', { 'sec-fetch-site': 'same-origin' }, true, true],
    ['Sec-Fetch-Site none (typed URL, bookmark)', { 'sec-fetch-site': 'none' }, true, true],
    ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }, true, false],
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }, true, false],
    ['Sec-Fetch-Site cross-site without requireHeader', { 'sec-fetch-site': 'cross-site' }, false, false],
    ['Sec-Fetch-Site in another casing', { 'sec-fetch-site': 'Same-Origin' }, true, false],
    ['Sec-Fetch-Site empty', { 'sec-fetch-site': '' }, true, false],
    ['Origin is the app', { origin: ORIGIN }, true, true],
    ['Origin is another allowed origin', { origin: 'https://admin.example.com' }, true, true],
    ['Origin foreign', { origin: 'https://evil.example' }, true, false],
    ['Origin foreign without requireHeader', { origin: 'https://evil.example' }, false, false],
    ['Origin null', { origin: 'null' }, true, false],
    ['Origin null without requireHeader', { origin: 'null' }, false, false],
    // A form on a page served with Referrer-Policy: no-referrer (docs/api.md): refused all the same.
    ['Origin null from a same-origin form', { origin: 'null', 'sec-fetch-site': 'same-origin' }, false, false],
    ['Origin with another scheme', { origin: 'http://app.example.com' }, true, false],
    ['Origin with another port', { origin: 'https://app.example.com:8443' }, true, false],
    ['Origin with a trailing slash', { origin: `${ORIGIN}/` }, true, false],
    ['Origin a suffix of the app', { origin: 'https://app.example.com.evil.example' }, true, false],
    ['same-origin and allowed Origin', { 'sec-fetch-site': 'same-origin', origin: ORIGIN }, true, true],
    [
      'same-origin but foreign Origin',
      { 'sec-fetch-site': 'same-origin', origin: 'https://evil.example' },
      true,
      false,
    ],
    ['allowed Origin but cross-site', { 'sec-fetch-site': 'cross-site', origin: ORIGIN }, true, false],
    [
      'allowed Origin but same-site',
      { 'sec-fetch-site': 'same-site', origin: 'https://admin.example.com' },
      true,
      false,
    ],
    ['neither header, requireHeader true', {}, true, false],
    ['neither header, requireHeader false', {}, false, true],
  ])('%s → %s', (_label, headers, requireHeader, expected) => {
    expect(check(headers, requireHeader)).toBe(expected);
  });
});

describe('isUnsafeMethod', () => {
  it.each(['GET', 'HEAD', 'OPTIONS'])('%s is safe', (method) => {
    expect(isUnsafeMethod(method)).toBe(false);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'patch'])('%s is unsafe', (method) => {
    expect(isUnsafeMethod(method)).toBe(true);
  });
});
