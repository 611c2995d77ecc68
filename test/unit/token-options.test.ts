import { describe, expect, it } from 'vitest';
import { resolveTokenOptions } from '../../src/tokens/options.js';

const secret = 'x'.repeat(32);
const resolve = (refreshGrace: number) => resolveTokenOptions({ secret, refreshGrace }, 'https://app.example.com');

describe('tokens.refreshGrace', () => {
  it('takes 0 (no grace) up to 300 s, as coatcheck serve does', () => {
    expect(resolve(0).refreshGraceMs).toBe(0);
    expect(resolve(300).refreshGraceMs).toBe(300_000);
    expect(resolveTokenOptions({ secret }, 'https://app.example.com').refreshGraceMs).toBe(10_000);
  });

  // Inside the window a replayed token gets the current successor: a window as long as the time
  // between refreshes would let a thief's copy keep working without ever being seen as reuse.
  it.each([301, 30 * 24 * 3600, -1, 1.5])('refuses %j', (refreshGrace) => {
    expect(() => resolve(refreshGrace)).toThrow(/tokens\.refreshGrace must be a whole number of seconds from 0 to 300/);
  });
});
