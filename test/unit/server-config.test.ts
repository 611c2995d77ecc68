import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../src/server/config.js';
import { openSqlStore, revocationFeedPrefix } from '../../src/server/open-stores.js';
import { DEFAULT_MMAP_BYTES } from '../../src/stores/sqlite/index.js';

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

describe('COATCHECK_TRUST_PROXY', () => {
  it('reads a count of proxies as a number (Express takes the string "1" for an address)', () => {
    expect(readConfig({ COATCHECK_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(readConfig({ COATCHECK_TRUST_PROXY: '0' }).trustProxy).toBe(0);
    expect(readConfig({ COATCHECK_TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
    expect(readConfig({}).trustProxy).toBeUndefined();
  });

  it('reads a count with stray spaces as the count, not as the address 0.0.0.1', () => {
    expect(readConfig({ COATCHECK_TRUST_PROXY: ' 1' }).trustProxy).toBe(1);
    expect(readConfig({ COATCHECK_TRUST_PROXY: '2 \n' }).trustProxy).toBe(2);
    expect(readConfig({ COATCHECK_TRUST_PROXY: '   ' }).trustProxy).toBeUndefined();
  });

  it.each(['true', 'TRUE', 'yes', 'false', '33', ' 33', '0.0.0.0/0', '::/0', 'loopback, ::/00', 'loopback,', 'a,,b'])(
    'refuses %j',
    (value) => {
      expect(() => readConfig({ COATCHECK_TRUST_PROXY: value })).toThrow(ConfigError);
    },
  );

  // Every IPv4 client, through IPv4-mapped IPv6 or two halves; every IPv6 client in a few ranges.
  it.each([
    '::ffff:0:0/96',
    '::/1',
    '0.0.0.0/1, 128.0.0.0/1',
    'loopback, ::ffff:0.0.0.0/96',
    '::/1, 8000::/1',
    '2000::/4',
    // Half a family, or most of one in pieces: as good as all of it to an attacker.
    '0.0.0.0/1',
    '0.0.0.0/1, 128.0.0.0/2',
    '::ffff:0:0/97',
    '1.0.0.0/8, 2.0.0.0/7, 4.0.0.0/6, 8.0.0.0/5, 16.0.0.0/4, 32.0.0.0/3, 64.0.0.0/3, 98.0.0.0/7, 100.0.0.0/6',
    '2000::/6',
  ])('refuses %j, which trusts a whole address family', (value) => {
    expect(() => readConfig({ COATCHECK_TRUST_PROXY: value })).toThrow(/trusting every X-Forwarded-For/);
  });

  it.each([
    ['foo', /COATCHECK_TRUST_PROXY: invalid IP address: foo/],
    ['10.0.0.0/33', /COATCHECK_TRUST_PROXY: invalid range on address: 10.0.0.0\/33/],
  ])('refuses the unreadable %j as a ConfigError naming the variable', (value, message) => {
    expect(() => readConfig({ COATCHECK_TRUST_PROXY: value })).toThrow(ConfigError);
    expect(() => readConfig({ COATCHECK_TRUST_PROXY: value })).toThrow(message);
  });

  it('accepts real proxy lists, wide ones included', () => {
    const lists = [
      'loopback, linklocal, uniquelocal',
      '10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16',
      '2001:db8::/32, 2600::/12',
      // A CDN's published ranges (Cloudflare's, 2026): wide as real lists go, a sliver of the internet.
      '173.245.48.0/20, 103.21.244.0/22, 103.22.200.0/22, 103.31.4.0/22, 141.101.64.0/18, 108.162.192.0/18, ' +
        '190.93.240.0/20, 188.114.96.0/20, 197.234.240.0/22, 198.41.128.0/17, 162.158.0.0/15, 104.16.0.0/13, ' +
        '104.24.0.0/14, 172.64.0.0/13, 131.0.72.0/22, 2400:cb00::/32, 2606:4700::/32, 2803:f800::/32, ' +
        '2405:b500::/32, 2405:8100::/32, 2a06:98c0::/29, 2c0f:f248::/32',
    ];
    for (const value of lists) expect(readConfig({ COATCHECK_TRUST_PROXY: value }).trustProxy).toBe(value);
  });
});

describe('revocationFeedPrefix', () => {
  it('keeps the historical names for the default prefix, set or not, and prefixes any other', () => {
    expect(revocationFeedPrefix('cc')).toBe('');
    expect(revocationFeedPrefix('shop')).toBe('shop:');
  });
});

describe('COATCHECK_SQLITE_MMAP_BYTES', () => {
  it('sets how much of the SQLite file is memory-mapped: the default unset, 0 for none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-mmap-'));
    const mapped = async (value: string | undefined) => {
      const env = {
        COATCHECK_DATA_DIR: dataDir,
        ...(value === undefined ? {} : { COATCHECK_SQLITE_MMAP_BYTES: value }),
      };
      const { sql, sqlite } = await openSqlStore(readConfig(env));
      try {
        return sqlite?.database.pragma('mmap_size', { simple: true });
      } finally {
        await sql.close();
      }
    };
    try {
      expect(await mapped(undefined)).toBe(DEFAULT_MMAP_BYTES);
      expect(await mapped('')).toBe(DEFAULT_MMAP_BYTES);
      expect(await mapped('0')).toBe(0);
      expect(await mapped(String(64 * 1024 * 1024))).toBe(64 * 1024 * 1024);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.each(['-1', '1.5', 'off', '1e3', '0x10', ' 7', String(2 ** 40 + 1)])('refuses %j', (value) => {
    expect(() => readConfig({ COATCHECK_SQLITE_MMAP_BYTES: value })).toThrow(
      /^COATCHECK_SQLITE_MMAP_BYTES must be a whole number from 0 to /,
    );
  });
});
