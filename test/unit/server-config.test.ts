import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../src/server/config.js';

describe('COATCHECK_REDIS_PREFIX', () => {
  it('is unset by default (keys under cc, the feed under its historical names), and empty means unset', () => {
    expect(readConfig({}).redisKeyPrefix).toBeUndefined();
    expect(readConfig({ COATCHECK_REDIS_PREFIX: '' }).redisKeyPrefix).toBeUndefined();
  });

  it('keeps a prefix of letters, digits and _ . : -', () => {
    expect(readConfig({ COATCHECK_REDIS_PREFIX: 'shop_eu-1:prod.v2' }).redisKeyPrefix).toBe('shop_eu-1:prod.v2');
    expect(readConfig({ COATCHECK_REDIS_PREFIX: 'x'.repeat(64) }).redisKeyPrefix).toBe('x'.repeat(64));
  });

  it.each(['cc{x}', 'a}', 'two words', 'x'.repeat(65), 'ünïcode', 'new\nline'])('refuses %j', (value) => {
    expect(() => readConfig({ COATCHECK_REDIS_PREFIX: value })).toThrow(ConfigError);
  });
});
