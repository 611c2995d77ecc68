import { describe, expect, it } from 'vitest';
import { observeRevocations } from '../../src/revocation/observe-store.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { makeSession, makeUser } from '../store/fixtures.js';

describe('observeRevocations', () => {
  it('reports the sessions it deletes, after the delete', async () => {
    const reported: string[][] = [];
    const inner = createMemoryStore();
    const store = observeRevocations(inner, async (ids) => {
      expect(await inner.sessions.findById(ids[0]!)).toBeNull();
      reported.push(ids);
    });
    const user = makeUser();
    await store.users.create(user);
    const one = makeSession(user.id);
    const two = makeSession(user.id);
    const three = makeSession(user.id);
    for (const session of [one, two, three]) await store.sessions.create(session);
    expect(await store.sessions.delete(one.id)).toBe(true);
    expect(await store.sessions.delete(one.id)).toBe(false);
    expect(await store.sessions.deleteByUser(user.id, { exceptId: three.id })).toEqual([two.id]);
    expect(reported).toEqual([[one.id], [two.id]]);
  });

  it('keeps the joined cookie read of the store it wraps', async () => {
    const inner = createMemoryStore();
    const store = observeRevocations(inner, () => Promise.resolve());
    const user = makeUser();
    await store.users.create(user);
    const session = makeSession(user.id);
    await store.sessions.create(session);
    expect(typeof store.findSessionWithUser).toBe('function');
    const { passwordHash: _hash, ...profile } = user;
    expect(await store.findSessionWithUser?.(session.secretHash!)).toEqual({ session, user: profile });
    expect(store.findSessionWithUserNow?.(session.secretHash!)).toEqual({ session, user: profile });
  });
});
