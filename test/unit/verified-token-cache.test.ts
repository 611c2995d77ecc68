import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { VerifiedTokenCache } from '../../src/tokens/verified-token-cache.js';

describe('VerifiedTokenCache', () => {
  it('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = new VerifiedTokenCache<number>(3);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1); // a is now the most recent; b the least
    cache.set('d', 4);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 3, 4]);
  });

  it('replaces an entry in place, and forgets a deleted one', () => {
    const cache = new VerifiedTokenCache<number>(2);
    cache.set('a', 1);
    cache.set('a', 2);
    expect(cache.size).toBe(1);
    expect(cache.get('a')).toBe(2);
    cache.delete('a');
    cache.delete('missing');
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBeUndefined();
    cache.set('b', 3);
    cache.set('c', 4);
    cache.set('d', 5);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('d')).toBe(5);
  });

  it('stores nothing at size 0 and refuses a size that is not a whole number', () => {
    const cache = new VerifiedTokenCache<number>(0);
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
    expect(() => new VerifiedTokenCache(-1)).toThrow(TypeError);
    expect(() => new VerifiedTokenCache(1.5)).toThrow(TypeError);
  });

  it('never answers for other text that ends alike', () => {
    const cache = new VerifiedTokenCache<number>(10);
    const signature = 's'.repeat(43);
    cache.set(`header.payload.${signature}`, 1);
    expect(cache.get(`header.forged.${signature}`)).toBeUndefined();
    cache.delete(`header.forged.${signature}`);
    expect(cache.get(`header.payload.${signature}`)).toBe(1);
    cache.set(`header.other.${signature}`, 2);
    expect(cache.get(`header.payload.${signature}`)).toBeUndefined();
    expect(cache.get(`header.other.${signature}`)).toBe(2);
    expect(cache.size).toBe(1);
  });

  it('finds a token by its text, not by the string object', () => {
    const cache = new VerifiedTokenCache<number>(10);
    const token = `${'a'.repeat(20)}.${'b'.repeat(20)}`;
    cache.set(token, 1);
    expect(cache.get(['a'.repeat(20), 'b'.repeat(20)].join('.'))).toBe(1);
  });

  describe('offer: a token is kept on its second verification', () => {
    const token = (n: number) => `header.payload-${n}.${n.toString(36).padStart(43, 'x')}`;

    it('remembers a first offer without keeping it, keeps the second', () => {
      const cache = new VerifiedTokenCache<number>(10);
      cache.offer(token(1), 1);
      expect(cache.size).toBe(0);
      expect(cache.get(token(1))).toBeUndefined();
      cache.offer(token(1), 2);
      expect(cache.size).toBe(1);
      expect(cache.get(token(1))).toBe(2);
    });

    it('keeps nothing of a stream of tokens each offered once, so the kept ones stay', () => {
      const cache = new VerifiedTokenCache<number>(3);
      cache.offer(token(0), 0);
      cache.offer(token(0), 0);
      for (let n = 1; n <= 1000; n++) cache.offer(token(n), n);
      expect(cache.size).toBe(1);
      expect(cache.get(token(0))).toBe(0);
    });

    it('still evicts the least recently used among tokens offered twice', () => {
      const cache = new VerifiedTokenCache<number>(2);
      for (const n of [1, 2, 3]) {
        cache.offer(token(n), n);
        cache.offer(token(n), n);
      }
      expect(cache.size).toBe(2);
      expect([cache.get(token(1)), cache.get(token(2)), cache.get(token(3))]).toEqual([undefined, 2, 3]);
    });

    it('keeps a token only for its own text, even when a fingerprint matches', () => {
      const cache = new VerifiedTokenCache<number>(10);
      const signature = 's'.repeat(43);
      // Same last characters, so the same fingerprint: the second is kept, under its own text only.
      cache.offer(`header.payload.${signature}`, 1);
      cache.offer(`header.other.${signature}`, 2);
      expect(cache.get(`header.other.${signature}`)).toBe(2);
      expect(cache.get(`header.payload.${signature}`)).toBeUndefined();
    });

    it('spreads fingerprints over every slot of its table', () => {
      // 1,000 tokens offered twice into a table of 2,048 slots: a token is kept unless another
      // token's fingerprint took its slot in between. These tokens: 616 kept with every slot in
      // use, 384 with half of them (a slot taken from the bit every fingerprint has set).
      const cache = new VerifiedTokenCache<number>(1_000);
      const tokens = Array.from(
        { length: 1_000 },
        (_, n) => `header.payload.${createHash('sha256').update(String(n)).digest('base64url')}`,
      );
      for (const t of tokens) cache.offer(t, 0);
      for (const t of tokens) cache.offer(t, 0);
      expect(cache.size).toBeGreaterThan(500);
    });

    it('keeps nothing and remembers nothing when the size is 0', () => {
      const cache = new VerifiedTokenCache<number>(0);
      cache.offer(token(1), 1);
      cache.offer(token(1), 1);
      expect(cache.size).toBe(0);
      expect(cache.get(token(1))).toBeUndefined();
    });
  });
});
