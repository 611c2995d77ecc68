import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasDuplicateKeys, repeatsAKey } from '../../src/tokens/duplicate-keys.js';

// JSON text with keys drawn from a few spellings (so repeats are common, some only after unescaping),
// values that hold quotes, colons and backslashes, and optional whitespace.
const space = fc.constantFrom('', ' ', '\n  ');
const key = fc.constantFrom('"a"', '"\\u0061"', '"b"', '":"', '"a:"', '"\\""', '"\\\\"', '"__proto__"', '""');
const scalar = fc.oneof(
  fc.string().map((text) => JSON.stringify(text)),
  fc.constantFrom('":a"', '"\\":"', '1', '-0.5e3', 'true', 'null'),
);
const { value: jsonText } = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.tuple(fc.array(tie('value'), { maxLength: 4 }), space).map(([items, s]) => `[${s}${items.join(`,${s}`)}${s}]`),
    fc
      .tuple(fc.array(fc.tuple(key, tie('value')), { maxLength: 6 }), space)
      .map(([entries, s]) => `{${s}${entries.map(([k, v]) => `${k}${s}:${s}${v}`).join(`,${s}`)}${s}}`),
  ),
}));

describe('hasDuplicateKeys', () => {
  it.each([
    ['{"a":1,"a":2}', true],
    ['{"a":1,"\\u0061":2}', true],
    ['{"alg":"ES256","kid":"k","alg":"none"}', true],
    ['{"o":{"x":1,"x":2}}', true],
    ['{"a":{"b":1},"b":2}', false],
    ['{"a":[{"x":1},{"x":2}]}', false],
    ['{"a":"\\"a\\":","b":1}', false],
    ['{ "a" : 1 , "b" : [ "a", "a" ] }', false],
    ['{}', false],
    ['[1,2,"a"]', false],
  ])('%s → %s', (json, expected) => {
    expect(hasDuplicateKeys(json)).toBe(expected);
  });

  it('finds a repeat among many keys, and none where there is none', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`);
    expect(hasDuplicateKeys(`{${keys.join(',')}}`)).toBe(false);
    expect(hasDuplicateKeys(`{${keys.join(',')},"k3":0}`)).toBe(true);
    expect(hasDuplicateKeys(`{${keys.join(',')},"k\u0033":0}`)).toBe(true);
    expect(hasDuplicateKeys(`{"a":{${keys.join(',')}},"k3":0}`)).toBe(false);
  });

  it('repeatsAKey, given the parsed value, agrees with the scanner on generated JSON', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        expect(repeatsAKey(text, JSON.parse(text))).toBe(hasDuplicateKeys(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('reports text that is not JSON as suspect instead of looping', () => {
    expect(hasDuplicateKeys('"abc')).toBe(true);
    expect(hasDuplicateKeys('{"a":"x\\')).toBe(true);
  });
});
