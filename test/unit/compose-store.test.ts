import { describe, expect, it } from 'vitest';
import { composeStore } from '../../src/stores/compose.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';

// The joined cookie reads, waiting or not, stay only while sessions and users are both the base's.

const lifecycle = { ping: () => Promise.resolve(), close: () => Promise.resolve() };

describe('composeStore and the joined cookie reads', () => {
  it('keeps both when the overlay replaces neither sessions nor users', () => {
    const composed = composeStore(createMemoryStore(), {
      ...lifecycle,
      refreshFamilies: createMemoryStore().refreshFamilies,
    });
    expect(typeof composed.findSessionWithUser).toBe('function');
    expect(typeof composed.findSessionWithUserNow).toBe('function');
  });

  it.each(['sessions', 'users'] as const)('drops both when the overlay replaces %s', (half) => {
    const other = createMemoryStore();
    const overlay = half === 'sessions' ? { sessions: other.sessions } : { users: other.users };
    const composed = composeStore(createMemoryStore(), { ...lifecycle, ...overlay });
    expect('findSessionWithUser' in composed).toBe(false);
    expect('findSessionWithUserNow' in composed).toBe(false);
  });
});
