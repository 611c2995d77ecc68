import { describe, expect, it } from 'vitest';
import { hasDuplicateKeys } from '../../src/tokens/duplicate-keys.js';

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

  it('reports text that is not JSON as suspect instead of looping', () => {
    expect(hasDuplicateKeys('"abc')).toBe(true);
    expect(hasDuplicateKeys('{"a":"x\\')).toBe(true);
  });
});
