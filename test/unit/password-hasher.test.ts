import { hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArgon2idHasher, DEFAULT_ARGON2ID } from '../../src/core/password-hasher.js';

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
