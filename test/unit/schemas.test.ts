import { describe, expect, it } from 'vitest';
import { AuthError } from '../../src/core/errors.js';
import { changePasswordBody, loginBody, parseBody, registerBody } from '../../src/http/schemas.js';

const SECRET = 'hunter2-SECRET-value';

function refusal(run: () => unknown): AuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    return error as AuthError;
  }
  return expect.unreachable('expected parseBody to throw');
}

function expectNoLeak(error: AuthError, ...values: string[]): void {
  const text = JSON.stringify({ message: error.message, errors: error.errors });
  for (const value of values) expect(text).not.toContain(value);
}

describe('parseBody', () => {
  it('returns the parsed body when valid', () => {
    expect(parseBody(loginBody, { email: 'a@b.co', password: 'pw', mode: 'token' })).toEqual({
      email: 'a@b.co',
      password: 'pw',
      mode: 'token',
    });
    expect(parseBody(registerBody, { email: 'a@b.co', password: 'pw', name: null })).toEqual({
      email: 'a@b.co',
      password: 'pw',
      name: null,
    });
    expect(parseBody(registerBody, { email: 'a@b.co', password: 'pw' })).toEqual({ email: 'a@b.co', password: 'pw' });
  });

  it('refuses unknown keys, naming each, never the value', () => {
    const error = refusal(() => parseBody(loginBody, { email: 'a@b.co', password: 'pw', role: SECRET, isAdmin: true }));
    expect(error.code).toBe('invalid_request');
    expect(error.errors).toEqual(
      expect.arrayContaining([
        { path: 'role', message: 'Unknown field.' },
        { path: 'isAdmin', message: 'Unknown field.' },
      ]),
    );
    expect(error.errors).toHaveLength(2);
    expectNoLeak(error, SECRET);
  });

  it('truncates a very long unknown key in the path', () => {
    const key = 'k'.repeat(1000);
    const error = refusal(() => parseBody(loginBody, { email: 'a@b.co', password: 'pw', [key]: 1 }));
    expect(error.errors).toEqual([{ path: 'k'.repeat(64), message: 'Unknown field.' }]);
  });

  it('refuses wrong types with the field path, never the value', () => {
    const error = refusal(() => parseBody(loginBody, { email: 31337424242, password: { value: SECRET } }));
    expect(error.code).toBe('invalid_request');
    expect(error.errors).toEqual(
      expect.arrayContaining([
        { path: 'email', message: 'Must be string.' },
        { path: 'password', message: 'Must be string.' },
      ]),
    );
    expect(error.errors).toHaveLength(2);
    expectNoLeak(error, SECRET, '31337424242');
  });

  it('says "Required." for a missing field', () => {
    const error = refusal(() => parseBody(changePasswordBody, { currentPassword: SECRET }));
    expect(error.errors).toEqual([{ path: 'newPassword', message: 'Required.' }]);
    expectNoLeak(error, SECRET);
  });

  it('refuses a value outside an enum without echoing it', () => {
    const error = refusal(() => parseBody(loginBody, { email: 'a@b.co', password: 'pw', mode: SECRET }));
    expect(error.code).toBe('invalid_request');
    expect(error.errors).toEqual([{ path: 'mode', message: 'Not one of the allowed values.' }]);
    expectNoLeak(error, SECRET);
  });

  it('refuses a wrong type for an optional field', () => {
    const error = refusal(() => parseBody(registerBody, { email: 'a@b.co', password: 'pw', name: 12345 }));
    expect(error.errors).toEqual([{ path: 'name', message: expect.stringMatching(/^Must be /) as unknown }]);
    expectNoLeak(error, '12345');
  });

  it.each([
    ['null', null],
    ['an array', ['a@b.co', 'pw']],
    ['a string', SECRET],
    ['undefined', undefined],
  ])('refuses %s as the whole body', (_label, input) => {
    const error = refusal(() => parseBody(loginBody, input));
    expect(error.code).toBe('invalid_request');
    expect(error.errors?.length).toBeGreaterThan(0);
    expect(error.errors?.[0]?.path).toBe('');
    expectNoLeak(error, SECRET);
  });
});

describe('parseBody reports every problem in a stable order', () => {
  it.each([
    ['undefined', undefined, [{ path: '', message: 'Required.' }]],
    ['null', null, [{ path: '', message: 'Must be object.' }]],
    [
      'missing fields, then unknown ones',
      { aa: 1 },
      [
        { path: 'email', message: 'Required.' },
        { path: 'password', message: 'Required.' },
        { path: 'aa', message: 'Unknown field.' },
      ],
    ],
    [
      'wrong types in field order',
      { mode: 5, password: null, email: 1 },
      [
        { path: 'email', message: 'Must be string.' },
        { path: 'password', message: 'Must be string.' },
        { path: 'mode', message: 'Not one of the allowed values.' },
      ],
    ],
    [
      'null for an optional enum',
      { email: 'a', password: 'b', mode: null },
      [{ path: 'mode', message: 'Not one of the allowed values.' }],
    ],
    [
      'a __proto__ key from JSON',
      JSON.parse('{"email":"a","password":"b","__proto__":{"role":"admin"}}') as unknown,
      [{ path: '__proto__', message: 'Unknown field.' }],
    ],
  ])('%s', (_label, input, errors) => {
    expect(refusal(() => parseBody(loginBody, input)).errors).toStrictEqual(errors);
  });

  it('returns only the declared fields, as a new object', () => {
    const input = { email: 'a@b.co', password: 'pw' };
    const parsed = parseBody(loginBody, input);
    expect(parsed).toStrictEqual({ email: 'a@b.co', password: 'pw' });
    expect(parsed).not.toBe(input);
  });

  it('does not take a declared field from the prototype', () => {
    const input = Object.create({ email: 'inherited@b.co' }) as Record<string, unknown>;
    input.password = 'pw';
    expect(refusal(() => parseBody(loginBody, input)).errors).toStrictEqual([{ path: 'email', message: 'Required.' }]);
  });
});
