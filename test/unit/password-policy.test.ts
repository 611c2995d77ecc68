import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkNewPassword,
  describePasswordProblem,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  normalizePassword,
  passwordLength,
} from '../../src/core/password-policy.js';

const EMOJI = '\u{1F511}'; // 🔑: one code point, two UTF-16 units

describe('password length', () => {
  it('has the limits of security.md', () => {
    expect(MIN_PASSWORD_LENGTH).toBe(8);
    expect(MAX_PASSWORD_LENGTH).toBe(128);
  });

  it('counts code points, not UTF-16 units', () => {
    expect(EMOJI).toHaveLength(2);
    expect(passwordLength(EMOJI.repeat(7))).toBe(7);
    expect(passwordLength('abc')).toBe(3);
    expect(passwordLength('')).toBe(0);
  });

  it.each([
    ['7 ASCII characters', 'k3#Vq9z', 'too_short'],
    ['8 ASCII characters', 'k3#Vq9zL', null],
    ['7 emoji (14 UTF-16 units)', EMOJI.repeat(7), 'too_short'],
    ['8 emoji (16 UTF-16 units)', EMOJI.repeat(8), null],
    ['128 emoji (256 UTF-16 units)', EMOJI.repeat(128), null],
    ['129 emoji', EMOJI.repeat(129), 'too_long'],
    ['128 ASCII characters', 'x7Q'.repeat(42) + 'ab', null],
    ['129 ASCII characters', 'x7Q'.repeat(43), 'too_long'],
    ['10 KiB', 'x7Q!'.repeat(2560), 'too_long'],
    ['empty', '', 'too_short'],
  ])('%s → %s', (_label, password, expected) => {
    expect(checkNewPassword(password)).toBe(expected);
  });
});

describe('common passwords', () => {
  it.each(['password', '12345678', 'qwertyuiop', 'iloveyou', 'password1'])('refuses %j', (password) => {
    expect(checkNewPassword(password)).toBe('common');
  });

  it.each(['Password', 'PASSWORD', 'Password1', 'ILoveYou', 'QwertyUIOP'])(
    'refuses %j case-insensitively',
    (password) => {
      expect(checkNewPassword(password)).toBe('common');
    },
  );

  it('refuses a full-width spelling once normalised', () => {
    expect(checkNewPassword('ｐａｓｓｗｏｒｄ')).toBeNull(); // not normalised: not in the list as typed
    expect(checkNewPassword(normalizePassword('ｐａｓｓｗｏｒｄ'))).toBe('common');
  });

  it('accepts an uncommon password', () => {
    expect(checkNewPassword('correct horse battery staple')).toBeNull();
    expect(checkNewPassword('password-but-longer-and-rare-7Q')).toBeNull();
  });

  it('finds every password of the list, and none that only starts or ends like one', () => {
    const text = readFileSync(new URL('../../assets/common-passwords.txt', import.meta.url), 'utf8');
    const listed = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(listed.length).toBeGreaterThan(10_000);
    const known = new Set(listed);
    for (const password of listed) {
      expect(checkNewPassword(password)).toBe('common');
      for (const nearMiss of [`${password}~`, password.slice(0, -1), `~${password}`]) {
        if (!known.has(nearMiss) && passwordLength(nearMiss) >= MIN_PASSWORD_LENGTH) {
          expect(checkNewPassword(nearMiss)).toBeNull();
        }
      }
    }
  });

  it('does not treat the comment lines of the list as passwords', () => {
    expect(
      checkNewPassword('# The most common passwords of 8 or more characters, most common first, lower-cased.'),
    ).toBeNull();
  });
});

describe('same as email', () => {
  const email = 'annsmith99@example.com';

  it.each(['annsmith99@example.com', 'AnnSmith99@Example.com', 'annsmith99', 'ANNSMITH99'])(
    'refuses %j',
    (password) => {
      expect(checkNewPassword(password, { email })).toBe('same_as_email');
    },
  );

  it('accepts a password that merely contains the email', () => {
    expect(checkNewPassword('annsmith99-is-my-name', { email })).toBeNull();
  });

  it('does not apply without an email', () => {
    expect(checkNewPassword('annsmith99')).toBeNull();
  });

  it('checks length before the email', () => {
    expect(checkNewPassword('ann', { email: 'ann@example.com' })).toBe('too_short');
  });
});

describe('normalizePassword', () => {
  it('makes composed and decomposed forms equal', () => {
    const composed = 'caf\u00E9-cr\u00E8me!';
    const decomposed = 'cafe\u0301-cre\u0300me!';
    expect(composed).not.toBe(decomposed);
    expect(normalizePassword(composed)).toBe(normalizePassword(decomposed));
  });

  it('applies compatibility mappings (NFKC, not NFC)', () => {
    expect(normalizePassword('ｐａｓｓ１２３')).toBe('pass123');
    expect(normalizePassword('\uFB01')).toBe('fi'); // the "fi" ligature
  });

  it('counts a decomposed accent as one character after normalisation', () => {
    const decomposed = 'e\u0301'.repeat(7); // 14 code points as typed, 7 characters
    expect(checkNewPassword(decomposed)).toBeNull();
    expect(checkNewPassword(normalizePassword(decomposed))).toBe('too_short');
  });
});

describe('describePasswordProblem', () => {
  it('names the limits and never the password', () => {
    expect(describePasswordProblem('too_short')).toContain('8');
    expect(describePasswordProblem('too_long')).toContain('128');
    for (const problem of ['too_short', 'too_long', 'common', 'same_as_email'] as const) {
      expect(describePasswordProblem(problem)).toMatch(/\S/);
    }
  });
});
