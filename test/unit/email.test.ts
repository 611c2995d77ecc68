import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../../src/core/email.js';

describe('normalizeEmail', () => {
  it.each([
    ['ann@example.com', 'ann@example.com'],
    ['Ann@Example.COM', 'ann@example.com'],
    ['ANN.SMITH+tag@EXAMPLE.co.uk', 'ann.smith+tag@example.co.uk'],
    ['  ann@example.com\t', null], // tab is a control character: refused, not trimmed
    ['   ann@example.com   ', 'ann@example.com'],
    ['\u3000ann@example.com\u3000', 'ann@example.com'], // ideographic space: NFKC to space, then trimmed
    ['ＡＮＮ＠ＥＸＡＭＰＬＥ．ＣＯＭ', 'ann@example.com'], // full-width letters, at sign and full stop
    ['ann@ｅｘａｍｐｌｅ.com', 'ann@example.com'],
    ['JÖRG@example.com', 'jörg@example.com'],
    ['user@bücher.example', 'user@xn--bcher-kva.example'],
    ['user@BÜCHER.example', 'user@xn--bcher-kva.example'],
    ['user@пример.рф', 'user@xn--e1afmkfd.xn--p1ai'],
    ["o'brien@example.com", "o'brien@example.com"],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it('maps case and width variants of one address to one canonical form', () => {
    const forms = ['ann@example.com', 'ANN@EXAMPLE.COM', ' Ann@Example.Com ', 'ａｎｎ@example.com'];
    expect(new Set(forms.map(normalizeEmail))).toEqual(new Set(['ann@example.com']));
  });

  it.each([
    ['CR LF injection', 'ann@example.com\r\nBcc: eve@example.com'],
    ['trailing LF', 'ann@example.com\n'],
    ['trailing CR', 'ann@example.com\r'],
    ['NUL', 'ann\u0000@example.com'],
    ['DEL', 'ann\u007F@example.com'],
    ['C1 control', 'ann\u0085@example.com'],
    ['line separator', 'ann@example.com\u2028'],
    ['paragraph separator', 'ann\u2029@example.com'],
    ['no @', 'ann.example.com'],
    ['empty string', ''],
    ['only spaces', '    '],
    ['empty local part', '@example.com'],
    ['empty domain', 'ann@'],
    ['only @', '@'],
    ['two @', 'ann@bob@example.com'],
    ['consecutive dots in local part', 'ann..smith@example.com'],
    ['local part starting with a dot', '.ann@example.com'],
    ['local part ending with a dot', 'ann.@example.com'],
    ['consecutive dots in domain', 'ann@example..com'],
    ['domain starting with a dot', 'ann@.example.com'],
    ['domain ending with a dot', 'ann@example.com.'],
    ['space in local part', 'ann smith@example.com'],
    ['space in domain', 'ann@exa mple.com'],
    ['space around @', 'ann @ example.com'],
    ['domain without a dot', 'ann@localhost'],
    ['IPv4 address as domain', 'ann@192.168.0.12'],
    ['numeric top-level label', 'ann@example.123'],
    ['IP literal', 'ann@[127.0.0.1]'],
    ['quoted local part', '"ann"@example.com'],
    ['quoted local part with space', '"ann smith"@example.com'],
    ['angle brackets', '<ann@example.com>'],
    ['display name form', 'Ann <ann@example.com>'],
    ['comma', 'ann,bob@example.com'],
    ['underscore in domain', 'ann@exa_mple.com'],
    ['emoji (astral) in local part', 'ann\u{1F600}@example.com'],
    ['local part over 64 characters', `${'a'.repeat(65)}@example.com`],
    ['domain label over 63 characters', `ann@${'b'.repeat(64)}.com`],
  ])('refuses %s', (_label, input) => {
    expect(normalizeEmail(input)).toBeNull();
  });

  // 64 + 1 + 189 = 254 characters, the longest address accepted.
  const domain189 = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
  const domain190 = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`;

  it('accepts an address of exactly 254 characters', () => {
    const address = `${'a'.repeat(64)}@${domain189}`;
    expect(address).toHaveLength(254);
    expect(normalizeEmail(address)).toBe(address);
  });

  it('refuses an address of 255 characters', () => {
    const address = `${'a'.repeat(64)}@${domain190}`;
    expect(address).toHaveLength(255);
    expect(normalizeEmail(address)).toBeNull();
  });

  it('refuses an address whose punycode domain makes it longer than 254 characters', () => {
    // Four IDN labels of 41 characters each grow to 48 in their xn-- form (each still under 63).
    const label = `ü${'x'.repeat(40)}`;
    const domain = `${label}.${label}.${label}.${label}.com`;
    const address = `${'a'.repeat(64)}@${domain}`;
    expect(address.length).toBeLessThanOrEqual(254);
    expect(64 + 1 + domainToASCII(domain).length).toBeGreaterThan(254);
    expect(normalizeEmail(address)).toBeNull();
  });

  it('accepts a shorter address with the same IDN labels', () => {
    const label = `ü${'x'.repeat(40)}`;
    expect(normalizeEmail(`ann@${label}.${label}.com`)).toBe(`ann@${domainToASCII(label)}.${domainToASCII(label)}.com`);
  });

  it('refuses a very long input outright', () => {
    expect(normalizeEmail(`${'a'.repeat(10_000)}@example.com`)).toBeNull();
  });
});

describe('normalizeEmail: invisible and unstorable characters', () => {
  it.each([
    ['a right-to-left override', 'ann\u202E@example.com'],
    ['a bidi isolate', 'ann\u2066@example.com'],
    ['a soft hyphen', 'an\u00ADn@example.com'],
    ['a private-use character', 'ann\uE000@example.com'],
    ['a lone surrogate', 'ann\uD800@example.com'],
  ])('refuses %s', (_label, input) => {
    expect(normalizeEmail(input)).toBeNull();
  });
});
