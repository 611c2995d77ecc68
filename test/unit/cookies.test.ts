import { describe, expect, it } from 'vitest';
import { cookieValues, parseCookieHeader, serializeCookie } from '../../src/http/cookies.js';

function entries(header: string | null | undefined): [string, string[]][] {
  return [...parseCookieHeader(header)];
}

describe('cookieValues', () => {
  it('reads only the named cookie, every occurrence in order, trimmed and unquoted', () => {
    const header = 'xsid=sid1; sid = first ;sidx=2; other="sid=3"; sid="second"; sid';
    expect(cookieValues(header, 'sid')).toEqual(['first', 'second']);
  });

  it('finds nothing in an absent or empty header, or for an empty name', () => {
    expect(cookieValues(undefined, 'sid')).toEqual([]);
    expect(cookieValues(null, 'sid')).toEqual([]);
    expect(cookieValues('', 'sid')).toEqual([]);
    expect(cookieValues('=x; sid=1', '')).toEqual([]);
  });
});

describe('parseCookieHeader', () => {
  it('parses name=value pairs', () => {
    expect(entries('a=1; b=2')).toEqual([
      ['a', ['1']],
      ['b', ['2']],
    ]);
  });

  it('keeps every occurrence of a name, in order', () => {
    expect(parseCookieHeader('sid=first; other=x; sid=second; sid=third').get('sid')).toEqual([
      'first',
      'second',
      'third',
    ]);
  });

  it('keeps duplicates even when their values are equal', () => {
    expect(parseCookieHeader('sid=same; sid=same').get('sid')).toEqual(['same', 'same']);
  });

  it('strips one pair of surrounding double quotes', () => {
    expect(parseCookieHeader('a="quoted value"; b=""; c="x"').get('a')).toEqual(['quoted value']);
    expect(parseCookieHeader('b=""').get('b')).toEqual(['']);
    expect(parseCookieHeader('c="x"').get('c')).toEqual(['x']);
  });

  it('leaves a lone or unbalanced quote alone', () => {
    expect(parseCookieHeader('a="').get('a')).toEqual(['"']);
    expect(parseCookieHeader('a="abc').get('a')).toEqual(['"abc']);
    expect(parseCookieHeader('a=abc"').get('a')).toEqual(['abc"']);
  });

  it('trims whitespace around names and values', () => {
    expect(entries('  a = 1 ;b=2;   c=3  ')).toEqual([
      ['a', ['1']],
      ['b', ['2']],
      ['c', ['3']],
    ]);
  });

  // A sibling subdomain can plant any cookie name without the prefix's protection; only the
  // header's own whitespace may be stripped to find the real one.
  it.each(['\u00a0', '\u2028', '\u3000', '\ufeff', '\u000b', '\u000c'])(
    'does not strip %j from a name or a value: only spaces and tabs are whitespace in a cookie header',
    (space) => {
      const header = `${space}__Host-coatcheck.sid=tossed; real=a${space}`;
      expect(cookieValues(header, '__Host-coatcheck.sid')).toEqual([]);
      expect(parseCookieHeader(header).get(`${space}__Host-coatcheck.sid`)).toEqual(['tossed']);
      expect(parseCookieHeader(header).get('real')).toEqual([`a${space}`]);
      expect(cookieValues(` \t__Host-coatcheck.sid \t= ok\t `, '__Host-coatcheck.sid')).toEqual(['ok']);
    },
  );

  it('keeps "=" inside a value', () => {
    expect(parseCookieHeader('t=abc==; u=a=b').get('t')).toEqual(['abc==']);
    expect(parseCookieHeader('u=a=b').get('u')).toEqual(['a=b']);
  });

  it('skips parts without "=" and parts with an empty name', () => {
    expect(entries('flag; a=1; =orphan; ;b=2')).toEqual([
      ['a', ['1']],
      ['b', ['2']],
    ]);
  });

  it('keeps an empty value', () => {
    expect(parseCookieHeader('a=').get('a')).toEqual(['']);
  });

  it('is case-sensitive in names', () => {
    const cookies = parseCookieHeader('SID=1; sid=2');
    expect(cookies.get('SID')).toEqual(['1']);
    expect(cookies.get('sid')).toEqual(['2']);
  });

  it.each([[''], [null], [undefined], [';;;'], ['garbage']])('returns an empty map for %j', (header) => {
    expect(parseCookieHeader(header).size).toBe(0);
  });
});

describe('serializeCookie', () => {
  it('writes every attribute in a fixed order', () => {
    expect(
      serializeCookie('__Host-coatcheck.sid', 'abc_DEF-123', {
        path: '/',
        maxAge: 604800,
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
      }),
    ).toBe('__Host-coatcheck.sid=abc_DEF-123; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Lax');
  });

  it('omits HttpOnly and Secure when false', () => {
    expect(
      serializeCookie('coatcheck.rt', 'v', {
        path: '/auth',
        maxAge: 60,
        httpOnly: false,
        secure: false,
        sameSite: 'Strict',
      }),
    ).toBe('coatcheck.rt=v; Path=/auth; Max-Age=60; SameSite=Strict');
  });

  it('writes Secure without HttpOnly when only secure is set', () => {
    expect(serializeCookie('n', 'v', { path: '/', maxAge: 1, httpOnly: false, secure: true, sameSite: 'Lax' })).toBe(
      'n=v; Path=/; Max-Age=1; Secure; SameSite=Lax',
    );
  });

  it('clears a cookie with Max-Age=0', () => {
    expect(
      serializeCookie('__Secure-coatcheck.rt', '', {
        path: '/auth',
        maxAge: 0,
        httpOnly: true,
        secure: true,
        sameSite: 'Strict',
      }),
    ).toBe('__Secure-coatcheck.rt=; Path=/auth; Max-Age=0; HttpOnly; Secure; SameSite=Strict');
  });

  it('floors fractional and clamps negative Max-Age', () => {
    const attributes = { path: '/', httpOnly: true, secure: true, sameSite: 'Lax' } as const;
    expect(serializeCookie('n', 'v', { ...attributes, maxAge: 59.9 })).toContain('; Max-Age=59;');
    expect(serializeCookie('n', 'v', { ...attributes, maxAge: -5 })).toContain('; Max-Age=0;');
  });

  it('round-trips through parseCookieHeader', () => {
    const header = serializeCookie('n', 'value-1', {
      path: '/',
      maxAge: 5,
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
    });
    const pair = header.split(';', 1)[0];
    expect(parseCookieHeader(pair).get('n')).toEqual(['value-1']);
  });
});
