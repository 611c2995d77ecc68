import { hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConcurrencyLimit, type ConcurrencyLimit } from '../../src/core/concurrency-limit.js';
import { OverloadedError } from '../../src/core/errors.js';
import { createArgon2idHasher, DEFAULT_ARGON2ID, processHashLimit } from '../../src/core/password-hasher.js';

const PASSWORD = 'correct horse battery staple';
const hasher = createArgon2idHasher();

describe('createArgon2idHasher (defaults)', () => {
  let stored: string;
  beforeAll(async () => {
    stored = await hasher.hash(PASSWORD);
  });

  it('uses the OWASP minimum parameters', () => {
    expect(DEFAULT_ARGON2ID).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
  });

  it('produces argon2id hashes with m=19456, t=2, p=1', () => {
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(stored).not.toContain(PASSWORD);
  });

  it('salts every hash', async () => {
    expect(await hasher.hash(PASSWORD)).not.toBe(stored);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    expect(await hasher.verify(stored, PASSWORD)).toBe(true);
    expect(await hasher.verify(stored, `${PASSWORD} `)).toBe(false);
    expect(await hasher.verify(stored, 'Correct horse battery staple')).toBe(false);
    expect(await hasher.verify(stored, '')).toBe(false);
  });

  it('does not ask to rehash a hash made with its own parameters', () => {
    expect(hasher.needsRehash(stored)).toBe(false);
  });

  it.each([
    ['an empty hash', ''],
    ['garbage', 'not a hash at all'],
    ['a truncated argon2id hash', '$argon2id$v=19$m=19456,t=2,p=1$'],
    ['a corrupt argon2id hash', '$argon2id$v=19$m=19456,t=2,p=1$!!!!$????'],
    ['a corrupt bcrypt hash', '$2b$12$thisisnotavalidbcrypthash'],
    ['a plaintext password stored by mistake', PASSWORD],
  ])('verify of %s is false, without throwing', async (_label, passwordHash) => {
    await expect(hasher.verify(passwordHash, PASSWORD)).resolves.toBe(false);
  });

  it.each([
    ['an empty hash', ''],
    ['garbage', 'not a hash at all'],
    ['a corrupt argon2id hash', '$argon2id$garbage'],
  ])('needsRehash of %s is true, without throwing', (_label, passwordHash) => {
    expect(hasher.needsRehash(passwordHash)).toBe(true);
  });
});

describe('legacy bcrypt hashes', () => {
  let legacy: string;
  beforeAll(async () => {
    legacy = await bcryptHash(PASSWORD, { cost: 4 });
  });

  it('verify with the right password and refuse a wrong one', async () => {
    expect(legacy).toMatch(/^\$2b\$04\$/);
    expect(await hasher.verify(legacy, PASSWORD)).toBe(true);
    expect(await hasher.verify(legacy, 'wrong password')).toBe(false);
  });

  it('need a rehash to argon2id', () => {
    expect(hasher.needsRehash(legacy)).toBe(true);
  });
});

describe('argon2id hashes with other parameters', () => {
  it('a weaker hash verifies but needs a rehash under the default hasher', async () => {
    const weak = await createArgon2idHasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }).hash(PASSWORD);
    expect(weak).toMatch(/^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
    expect(await hasher.verify(weak, PASSWORD)).toBe(true);
    expect(hasher.needsRehash(weak)).toBe(true);
  });

  it.each([
    ['memory', { memoryCost: 8192, timeCost: 2, parallelism: 1 }],
    ['time', { memoryCost: 19456, timeCost: 1, parallelism: 1 }],
  ])('a hash weaker only in %s needs a rehash', async (_label, parameters) => {
    const weak = await createArgon2idHasher(parameters).hash(PASSWORD);
    expect(hasher.needsRehash(weak)).toBe(true);
  });

  it('a stronger hash does not need a rehash', async () => {
    const strong = await createArgon2idHasher({ memoryCost: 19456, timeCost: 3, parallelism: 1 }).hash(PASSWORD);
    expect(hasher.needsRehash(strong)).toBe(false);
    expect(await hasher.verify(strong, PASSWORD)).toBe(true);
  });

  it('an argon2i hash (not argon2id) verifies but needs a rehash', async () => {
    // 1 is @node-rs/argon2's Algorithm.Argon2i.
    const argon2i = await argon2Hash(PASSWORD, { algorithm: 1, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    expect(argon2i).toMatch(/^\$argon2i\$/);
    expect(await hasher.verify(argon2i, PASSWORD)).toBe(true);
    expect(hasher.needsRehash(argon2i)).toBe(true);
  });
});

describe('the concurrency limit', () => {
  const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

  /** A limit of `max` that logs when each task it admits starts and ends. */
  function recordingLimit(max: number): { limit: ConcurrencyLimit; events: string[] } {
    const inner = createConcurrencyLimit(max);
    const events: string[] = [];
    let count = 0;
    const limit: ConcurrencyLimit = {
      run: (task) =>
        inner.run(async () => {
          const id = ++count;
          events.push(`start ${id}`);
          try {
            return await task();
          } finally {
            events.push(`end ${id}`);
          }
        }),
      max,
      get running() {
        return inner.running;
      },
      get waiting() {
        return inner.waiting;
      },
    };
    return { limit, events };
  }

  it('is shared by default hashers and leaves one core to the event loop', () => {
    expect(processHashLimit.max).toBe(Math.max(1, availableParallelism() - 1));
  });

  it('default hashers go through the process-wide limit', async () => {
    const first = createArgon2idHasher(CHEAP).hash(PASSWORD);
    const second = createArgon2idHasher(CHEAP).hash(PASSWORD);
    expect(processHashLimit.running + processHashLimit.waiting).toBe(2);
    await Promise.all([first, second]);
    expect(processHashLimit.running + processHashLimit.waiting).toBe(0);
  });

  it('with a limit of 1, a second hash starts only after the first has finished', async () => {
    const { limit, events } = recordingLimit(1);
    const limited = createArgon2idHasher(CHEAP, { limit });
    const first = limited.hash(PASSWORD);
    const second = limited.hash(PASSWORD);
    expect([limit.running, limit.waiting]).toEqual([1, 1]);
    await first;
    expect(events).toEqual(['start 1', 'end 1']);
    await second;
    expect(events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect([limit.running, limit.waiting]).toEqual([0, 0]);
  });

  it('argon2id and bcrypt verifications wait their turn with hashes', async () => {
    const argon2 = await createArgon2idHasher(CHEAP).hash(PASSWORD);
    const bcrypt = await bcryptHash(PASSWORD, { cost: 4 });
    const { limit, events } = recordingLimit(1);
    const limited = createArgon2idHasher(CHEAP, { limit });
    const results = Promise.all([
      limited.hash(PASSWORD),
      limited.verify(argon2, PASSWORD),
      limited.verify(bcrypt, PASSWORD),
      limited.verify(argon2, 'wrong password'),
    ]);
    expect([limit.running, limit.waiting]).toEqual([1, 3]);
    const [, ...verdicts] = await results;
    expect(verdicts).toEqual([true, true, false]);
    expect(events).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'start 4', 'end 4']);
  });

  it('a hash it cannot read is refused without taking a slot', async () => {
    const { limit, events } = recordingLimit(1);
    await expect(createArgon2idHasher(CHEAP, { limit }).verify('not a hash', PASSWORD)).resolves.toBe(false);
    expect(events).toEqual([]);
  });

  it('a full queue rejects with OverloadedError, never a false verdict', async () => {
    const stored = await createArgon2idHasher(CHEAP).hash(PASSWORD);
    const limit = createConcurrencyLimit(1, { maxWaiting: 0 });
    const limited = createArgon2idHasher(CHEAP, { limit });
    const running = limited.hash(PASSWORD);
    await expect(limited.verify(stored, PASSWORD)).rejects.toBeInstanceOf(OverloadedError);
    await expect(limited.hash(PASSWORD)).rejects.toBeInstanceOf(OverloadedError);
    await running;
    await expect(limited.verify(stored, PASSWORD)).resolves.toBe(true);
  });
});
