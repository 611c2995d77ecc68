import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { createMemoryLimiter, DEFAULT_ACCOUNT_POLICY, DEFAULT_ADDRESS_POLICY } from '../../src/core/throttle.js';
import { beginPasswordAttempt, type PasswordAttempt } from '../../src/http/password-attempts.js';

const keys = { account: 'account:ann@example.com', address: 'address:203.0.113.7' };

function world() {
  const clock = createManualClock();
  const limiters = {
    account: createMemoryLimiter(DEFAULT_ACCOUNT_POLICY),
    address: createMemoryLimiter(DEFAULT_ADDRESS_POLICY),
    registration: createMemoryLimiter(DEFAULT_ADDRESS_POLICY),
  };
  const begin = () => beginPasswordAttempt({ limiters, clock }, keys, { countAddress: true });
  return { clock, limiters, begin };
}

describe('beginPasswordAttempt', () => {
  it('attempts in flight count until they end: past the allowance they wait, and a success gives them back', async () => {
    const { begin } = world();
    const inFlight: PasswordAttempt[] = [];
    // 5 free, the 6th counted too (it starts the first wait), the 7th refused.
    for (let i = 0; i < 6; i++) inFlight.push((await begin()) as PasswordAttempt);
    expect(await begin()).toBe(2);
    for (const attempt of inFlight) await attempt.succeeded();
    expect(typeof (await begin())).toBe('object');
  });

  it('a request refused for its address does not touch the account (nor extend its wait)', async () => {
    const { clock, limiters, begin } = world();
    // The account is past its allowance, its last wait over.
    for (let i = 0; i < 6; i++) await limiters.account.hit(keys.account, clock.now());
    clock.advance(3_000);
    expect(await limiters.account.retryAfter(keys.account, clock.now())).toBe(0);
    // The address must wait.
    for (let i = 0; i < 21; i++) await limiters.address.hit(keys.address, clock.now());
    for (let i = 0; i < 10; i++) expect(await begin()).toBe(2);
    expect(await limiters.account.retryAfter(keys.account, clock.now())).toBe(0);
  });

  it('an attempt that never reached a verdict is given back to both keys', async () => {
    const { begin } = world();
    for (let i = 0; i < 30; i++) await ((await begin()) as PasswordAttempt).undone();
    expect(typeof (await begin())).toBe('object');
  });
});
