import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { RevocationList } from '../../src/revocation/revocation-list.js';
import type { RevocationEvent, RevocationFeed, RevocationFeedHandlers } from '../../src/revocation/types.js';

/**
 * A feed whose store read can be made to fail: the order "subscription back, store still down" is
 * a race real Redis produces only by chance, so it is injected here to test it every time.
 */
function scriptedFeed() {
  let handlers: RevocationFeedHandlers | undefined;
  const stored: RevocationEvent[] = [];
  const state = { failingLoads: 0, loads: 0, failingPublishes: 0, publishes: 0 };
  const feed: RevocationFeed = {
    publish(event) {
      state.publishes += 1;
      if (state.failingPublishes > 0) {
        state.failingPublishes -= 1;
        return Promise.reject(new Error('store unreachable from this instance'));
      }
      stored.push(event);
      handlers?.onEvent(event);
      return Promise.resolve();
    },
    loadActive(now) {
      state.loads += 1;
      if (state.failingLoads > 0) {
        state.failingLoads -= 1;
        return Promise.reject(new Error('store still down'));
      }
      return Promise.resolve(stored.filter((e) => e.expiresAt > now));
    },
    subscribe(h) {
      handlers = h;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return { feed, stored, state, handlers: () => handlers! };
}

describe('RevocationList', () => {
  it('refuses revoked sessions, and tokens issued before a role change, only while they can matter', async () => {
    const clock = createManualClock(1_000_000);
    const { feed } = scriptedFeed();
    const list = new RevocationList({ feed, clock, logger: silentLogger });
    await list.start();
    await list.publish({
      sessionIds: ['ses_a'],
      users: [{ userId: 'usr_b', notBefore: 1_000_000, role: 'user' }],
      expiresAt: 1_060_000,
    });
    expect(list.check('ses_a', 'usr_x', 999_000, 'user')).toBe('revoked');
    expect(list.check('ses_c', 'usr_b', 999_000, 'user')).toBe('revoked');
    expect(list.check('ses_c', 'usr_b', 1_001_000, 'admin')).toBe('valid');
    await list.close();
  });

  it("tells a role change's own second apart by the token's role: the old role's token is refused", async () => {
    const clock = createManualClock(1_000_500);
    const { feed } = scriptedFeed();
    const list = new RevocationList({ feed, clock, logger: silentLogger });
    await list.start();
    // An admin's token minted at 1_000_000 (iat has whole seconds), then demoted in the same second.
    const demoted = {
      sessionIds: [],
      users: [{ userId: 'usr_a', notBefore: 1_000_000, role: 'user' }],
      expiresAt: 1_661_000,
    };
    await list.publish(demoted);
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'admin')).toBe('revoked');
    // Minted right after the change, in the same second: it carries the new role and passes.
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('valid');
    // The same event heard again (its own broadcast, a resync) changes nothing.
    await list.publish(demoted);
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('valid');
    // A second, different change in that second: no role tells its tokens apart, so none passes.
    await list.publish({ ...demoted, users: [{ userId: 'usr_a', notBefore: 1_000_000, role: 'admin' }] });
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('revoked');
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'admin')).toBe('revoked');
    expect(list.check('ses_a', 'usr_a', 1_001_000, 'admin')).toBe('valid');
    // An event without a role (an older instance's) refuses its whole second.
    await list.publish({ sessionIds: [], users: [{ userId: 'usr_b', notBefore: 1_000_000 }], expiresAt: 1_661_000 });
    expect(list.check('ses_b', 'usr_b', 1_000_000, 'user')).toBe('revoked');
    await list.close();
  });

  it('fails closed while disconnected, and keeps retrying the resync until the store answers', async () => {
    const clock = createManualClock(1_000_000);
    const scripted = scriptedFeed();
    const list = new RevocationList({ feed: scripted.feed, clock, logger: silentLogger });
    await list.start();
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('valid');
    scripted.handlers().onDisconnected();
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('unknown');
    // Missed while disconnected: only the store knows.
    scripted.stored.push({ sessionIds: ['ses_a'], users: [], expiresAt: 2_000_000 });
    scripted.state.failingLoads = 2;
    scripted.handlers().onConnected();
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('unknown');
    for (let i = 0; i < 50 && !list.live; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(scripted.state.loads).toBeGreaterThanOrEqual(4);
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('revoked');
    await list.close();
  });

  it('retries a failed publish in the background until it goes out, and gives up once it cannot matter', async () => {
    const clock = createManualClock(1_000_000);
    const scripted = scriptedFeed();
    const list = new RevocationList({ feed: scripted.feed, clock, logger: silentLogger });
    await list.start();
    scripted.state.failingPublishes = 2;
    const event = { sessionIds: ['ses_a'], users: [], expiresAt: 1_060_000 };
    await expect(list.publish(event)).rejects.toThrow('store unreachable');
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('revoked');
    for (let i = 0; i < 50 && scripted.stored.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(scripted.stored).toEqual([event]);
    expect(scripted.state.publishes).toBe(3);

    // An event whose tokens have all expired is not worth publishing any more.
    scripted.state.failingPublishes = 1;
    await expect(list.publish({ sessionIds: ['ses_b'], users: [], expiresAt: 1_070_000 })).rejects.toThrow();
    clock.advance(70_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(scripted.state.publishes).toBe(4);
    expect(scripted.stored).toEqual([event]);
    await list.close();
  });

  it('with whileDisconnected: allow, trusts the list it has', async () => {
    const clock = createManualClock(1_000_000);
    const scripted = scriptedFeed();
    const list = new RevocationList({ feed: scripted.feed, clock, logger: silentLogger, whileDisconnected: 'allow' });
    await list.start();
    scripted.handlers().onDisconnected();
    expect(list.check('ses_a', 'usr_a', 1_000_000, 'user')).toBe('valid');
    await list.close();
  });
});
