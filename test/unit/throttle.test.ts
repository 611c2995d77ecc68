import { describe, expect, it } from 'vitest';
import {
  createMemoryLimiter,
  DEFAULT_ACCOUNT_POLICY,
  DEFAULT_ADDRESS_POLICY,
  type BackoffPolicy,
} from '../../src/core/throttle.js';

const policy: BackoffPolicy = { freeAttempts: 3, baseDelaySeconds: 2, maxDelaySeconds: 60, forgetAfterSeconds: 3600 };
const T0 = 1_700_000_000_000;
const SECOND = 1000;

describe('createMemoryLimiter', () => {
  it('allows the free attempts without delay', async () => {
    const limiter = createMemoryLimiter(policy);
    expect(await limiter.retryAfter('k', T0)).toBe(0);
    for (let i = 0; i < policy.freeAttempts; i++) {
      await limiter.hit('k', T0);
      expect(await limiter.retryAfter('k', T0)).toBe(0);
    }
  });

  it('then doubles the delay with each attempt, up to the cap', async () => {
    const limiter = createMemoryLimiter(policy);
    for (let i = 0; i < policy.freeAttempts; i++) await limiter.hit('k', T0);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      await limiter.hit('k', T0);
      delays.push(await limiter.retryAfter('k', T0));
    }
    expect(delays).toEqual([2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('never exceeds the cap, however many attempts', async () => {
    const limiter = createMemoryLimiter(policy);
    for (let i = 0; i < 1000; i++) await limiter.hit('k', T0 + i);
    expect(await limiter.retryAfter('k', T0 + 999)).toBe(60);
  });

  it('counts down as time passes, rounding up to whole seconds', async () => {
    const limiter = createMemoryLimiter({ ...policy, freeAttempts: 0, baseDelaySeconds: 10 });
    await limiter.hit('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(10);
    expect(await limiter.retryAfter('k', T0 + 4 * SECOND)).toBe(6);
    expect(await limiter.retryAfter('k', T0 + 9.5 * SECOND)).toBe(1);
    expect(await limiter.retryAfter('k', T0 + 9.999 * SECOND)).toBe(1);
    expect(await limiter.retryAfter('k', T0 + 10 * SECOND)).toBe(0);
  });

  it('never locks out permanently: once the maximum delay has passed, an attempt is allowed', async () => {
    const limiter = createMemoryLimiter(policy);
    let now = T0;
    for (let i = 0; i < 50; i++) {
      await limiter.hit('victim', now);
      now += SECOND;
    }
    const lastHit = now - SECOND;
    expect(await limiter.retryAfter('victim', lastHit)).toBe(60);
    expect(await limiter.retryAfter('victim', lastHit + 60 * SECOND - 1)).toBe(1);
    expect(await limiter.retryAfter('victim', lastHit + 60 * SECOND)).toBe(0);
    // Another failure at that point costs at most the cap again, not more.
    await limiter.hit('victim', lastHit + 60 * SECOND);
    expect(await limiter.retryAfter('victim', lastHit + 60 * SECOND)).toBe(60);
    expect(await limiter.retryAfter('victim', lastHit + 120 * SECOND)).toBe(0);
  });

  it('keeps keys apart', async () => {
    const limiter = createMemoryLimiter({ ...policy, freeAttempts: 0 });
    await limiter.hit('a', T0);
    expect(await limiter.retryAfter('a', T0)).toBe(2);
    expect(await limiter.retryAfter('b', T0)).toBe(0);
  });

  it('reset forgets the key and restores the free attempts', async () => {
    const limiter = createMemoryLimiter(policy);
    for (let i = 0; i < 6; i++) await limiter.hit('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(8);
    await limiter.reset('k');
    expect(await limiter.retryAfter('k', T0)).toBe(0);
    for (let i = 0; i < policy.freeAttempts; i++) await limiter.hit('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(0);
    await limiter.hit('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(2);
  });

  it('reset of an unknown key is harmless', async () => {
    const limiter = createMemoryLimiter(policy);
    await expect(limiter.reset('nobody')).resolves.toBeUndefined();
  });

  it('forgets a key once the window has passed since its last attempt', async () => {
    // A cap longer than the window shows that the entry itself is dropped, not just its delay.
    const limiter = createMemoryLimiter({
      freeAttempts: 1,
      baseDelaySeconds: 100,
      maxDelaySeconds: 7200,
      forgetAfterSeconds: 3600,
    });
    for (let i = 0; i < 8; i++) await limiter.hit('k', T0);
    const window = 3600 * SECOND;
    expect(await limiter.retryAfter('k', T0 + window - 1)).toBeGreaterThan(0);
    expect(await limiter.retryAfter('k', T0 + window)).toBe(0);
    // The count starts again from zero: the free attempt is free again.
    await limiter.hit('k', T0 + window);
    expect(await limiter.retryAfter('k', T0 + window)).toBe(0);
    await limiter.hit('k', T0 + window);
    expect(await limiter.retryAfter('k', T0 + window)).toBe(100);
  });

  it('measures the window from the last attempt, not the first', async () => {
    const limiter = createMemoryLimiter(policy);
    const minute = 60 * SECOND;
    await limiter.hit('k', T0);
    await limiter.hit('k', T0 + 30 * minute);
    await limiter.hit('k', T0 + 59 * minute);
    await limiter.hit('k', T0 + 90 * minute); // 4th attempt: 90 min after the first, 31 after the last
    expect(await limiter.retryAfter('k', T0 + 90 * minute)).toBe(2);
  });

  it('evicts the least recently hit key beyond maxKeys', async () => {
    const limiter = createMemoryLimiter({ ...policy, freeAttempts: 0 }, { maxKeys: 2 });
    await limiter.hit('a', T0);
    await limiter.hit('b', T0);
    await limiter.hit('a', T0); // a is now the most recent
    await limiter.hit('c', T0); // evicts b
    expect(await limiter.retryAfter('a', T0)).toBe(4);
    expect(await limiter.retryAfter('b', T0)).toBe(0);
    expect(await limiter.retryAfter('c', T0)).toBe(2);
    await limiter.hit('d', T0); // evicts a
    expect(await limiter.retryAfter('a', T0)).toBe(0);
    expect(await limiter.retryAfter('c', T0)).toBe(2);
    expect(await limiter.retryAfter('d', T0)).toBe(2);
  });

  it('has sane default policies', () => {
    for (const defaults of [DEFAULT_ACCOUNT_POLICY, DEFAULT_ADDRESS_POLICY]) {
      expect(defaults.freeAttempts).toBeGreaterThan(0);
      expect(defaults.maxDelaySeconds).toBeLessThanOrEqual(15 * 60);
      expect(defaults.baseDelaySeconds).toBeGreaterThan(0);
    }
  });

  it('take counts an attempt only when none must wait, and says how long otherwise', async () => {
    const limiter = createMemoryLimiter(policy);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) waits.push(await limiter.take('k', T0));
    // 3 free, the 4th counted and starts a 2 s wait; the refused ones are not counted.
    expect(waits).toEqual([0, 0, 0, 0, 2, 2]);
    expect(await limiter.take('k', T0 + 2 * SECOND)).toBe(0);
    // The 5th attempt: 4 s, not the 8 s that counting the two refused ones would give.
    expect(await limiter.retryAfter('k', T0 + 2 * SECOND)).toBe(4);
  });

  it('refund takes one attempt back, and the wait with it once the count is within the allowance', async () => {
    const limiter = createMemoryLimiter(policy);
    for (let i = 0; i < 4; i++) await limiter.take('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(2);
    await limiter.refund('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(0);
    // Three counted: the next one is the 4th again.
    await limiter.take('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(2);
    // Past the allowance a refund keeps the wait its attempt started.
    await limiter.hit('k', T0);
    await limiter.refund('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(4);
  });

  it('refund of a key with nothing counted, or counted down to zero, leaves nothing behind', async () => {
    const limiter = createMemoryLimiter(policy);
    await limiter.refund('nobody', T0);
    await limiter.take('k', T0);
    await limiter.refund('k', T0);
    await limiter.refund('k', T0);
    // Not a negative count: three free attempts, as for a new key.
    for (let i = 0; i < 3; i++) await limiter.take('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(0);
    await limiter.take('k', T0);
    expect(await limiter.retryAfter('k', T0)).toBe(2);
  });
});
