import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSecureOrigin, resolveOptions, type AuthOptions } from '../../src/core/options.js';
import type { Store } from '../../src/store/types.js';
import { createMemoryLimiter, DEFAULT_ACCOUNT_POLICY, type AttemptLimiter } from '../../src/core/throttle.js';

const store = {} as Store;
const ORIGIN = 'https://app.example.com';

function options(overrides: Partial<AuthOptions> = {}): AuthOptions {
  return { store, origin: ORIGIN, ...overrides };
}

let savedNodeEnv: string | undefined;
beforeEach(() => {
  savedNodeEnv = process.env.NODE_ENV;
});
afterEach(() => {
  if (savedNodeEnv === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = savedNodeEnv;
});

describe('isSecureOrigin', () => {
  it.each([
    ['https://app.example.com', true],
    ['https://app.example.com:8443', true],
    ['http://localhost:3000', true],
    ['http://127.0.0.1:8080', true],
    ['http://[::1]:3000', true],
    ['http://app.localhost', true],
    ['http://app.example.com', false],
    ['http://10.0.0.5:3000', false],
    ['http://localhost.example.com', false],
    ['http://notlocalhost', false],
    ['ftp://localhost', false],
  ])('%s → %s', (url, expected) => {
    expect(isSecureOrigin(new URL(url))).toBe(expected);
  });
});

describe('resolveOptions', () => {
  it('resolves an https origin with secure defaults', () => {
    const resolved = resolveOptions(options());
    expect(resolved.store).toBe(store);
    expect(resolved.origin).toBe(ORIGIN);
    expect(resolved.https).toBe(true);
    expect(resolved.secureCookies).toBe(true);
    expect(resolved.basePath).toBe('/auth');
    expect([...resolved.allowedOrigins]).toEqual([ORIGIN]);
    expect(resolved.idleTtlMs).toBe(24 * 3600 * 1000);
    expect(resolved.absoluteTtlMs).toBe(7 * 24 * 3600 * 1000);
    expect(resolved.touchIntervalMs).toBe(60 * 1000);
    expect(resolved.purgeIntervalMs).toBe(600 * 1000);
    expect(resolved.defaultRole).toBe('user');
  });

  it('accepts a trailing slash on the origin and stores it without', () => {
    expect(resolveOptions(options({ origin: `${ORIGIN}/` })).origin).toBe(ORIGIN);
  });

  it.each(['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000'])(
    'treats loopback http %s as secure without allowInsecureHttp',
    (origin) => {
      const resolved = resolveOptions(options({ origin }));
      expect(resolved.secureCookies).toBe(true);
      expect(resolved.https).toBe(false);
      expect(resolved.origin).toBe(origin);
    },
  );

  it('normalises and adds further allowed origins', () => {
    const resolved = resolveOptions(
      options({ allowedOrigins: ['https://admin.example.com/', 'http://localhost:5173'] }),
    );
    expect(resolved.allowedOrigins).toEqual(new Set([ORIGIN, 'https://admin.example.com', 'http://localhost:5173']));
  });

  it('converts TTLs in seconds to milliseconds', () => {
    const resolved = resolveOptions(
      options({ session: { idleTtl: 1800, absoluteTtl: 86400, touchInterval: 30 }, purgeInterval: 0 }),
    );
    expect(resolved.idleTtlMs).toBe(1_800_000);
    expect(resolved.absoluteTtlMs).toBe(86_400_000);
    expect(resolved.touchIntervalMs).toBe(30_000);
    // Unset, a short idle timeout gets a touch interval of a quarter of it, so activity extends it.
    const short = resolveOptions(options({ session: { idleTtl: 60 }, purgeInterval: 0 }));
    expect(short.touchIntervalMs).toBe(15_000);
    expect(resolved.purgeIntervalMs).toBe(0);
  });

  it.each(['/auth', '/api/auth', '/a', '/v1.0/auth-x_y~z'])('accepts basePath %j', (basePath) => {
    expect(resolveOptions(options({ basePath })).basePath).toBe(basePath);
  });

  describe('throws TypeError', () => {
    it.each<[string, () => unknown]>([
      ['no options', () => resolveOptions(undefined as unknown as AuthOptions)],
      ['a missing store', () => resolveOptions({ origin: ORIGIN } as AuthOptions)],
      ['a null store', () => resolveOptions(options({ store: null as unknown as Store }))],
      ['a missing origin', () => resolveOptions({ store } as AuthOptions)],
      ['an origin that is not a URL', () => resolveOptions(options({ origin: 'app.example.com' }))],
      ['an origin with a path', () => resolveOptions(options({ origin: 'https://app.example.com/app' }))],
      ['an origin with a query', () => resolveOptions(options({ origin: 'https://app.example.com/?x=1' }))],
      ['an origin with a fragment', () => resolveOptions(options({ origin: 'https://app.example.com#x' }))],
      ['an origin with credentials', () => resolveOptions(options({ origin: 'https://user:pw@app.example.com' }))],
      ['a non-http origin', () => resolveOptions(options({ origin: 'ftp://app.example.com' }))],
      [
        'an allowed origin with a path',
        () => resolveOptions(options({ allowedOrigins: ['https://admin.example.com/x'] })),
      ],
      ['plain http on another host', () => resolveOptions(options({ origin: 'http://app.example.com' }))],
      ['basePath without a leading slash', () => resolveOptions(options({ basePath: 'auth' }))],
      ['basePath with a trailing slash', () => resolveOptions(options({ basePath: '/auth/' }))],
      ['basePath "/"', () => resolveOptions(options({ basePath: '/' }))],
      ['an empty basePath', () => resolveOptions(options({ basePath: '' }))],
      ['basePath with a space', () => resolveOptions(options({ basePath: '/my auth' }))],
      ['a negative idleTtl', () => resolveOptions(options({ session: { idleTtl: -1 } }))],
      ['a zero idleTtl', () => resolveOptions(options({ session: { idleTtl: 0 } }))],
      ['a negative absoluteTtl', () => resolveOptions(options({ session: { absoluteTtl: -3600 } }))],
      ['a NaN absoluteTtl', () => resolveOptions(options({ session: { absoluteTtl: Number.NaN } }))],
      ['an infinite idleTtl', () => resolveOptions(options({ session: { idleTtl: Number.POSITIVE_INFINITY } }))],
      ['a negative touchInterval', () => resolveOptions(options({ session: { touchInterval: -60 } }))],
      [
        'a touchInterval as long as idleTtl',
        () => resolveOptions(options({ session: { idleTtl: 60, touchInterval: 60 } })),
      ],
      ['a negative purgeInterval', () => resolveOptions(options({ purgeInterval: -1 }))],
      [
        'a store that is still a Promise (createPostgresStore without await)',
        () => resolveOptions(options({ store: Promise.resolve(store) as unknown as Store })),
      ],
    ])('for %s', (_label, run) => {
      expect(run).toThrow(TypeError);
    });

    it('names the problem in a coatcheck message', () => {
      expect(() => resolveOptions(options({ origin: 'http://app.example.com' }))).toThrow(
        /^coatcheck: .*allowInsecureHttp/,
      );
      expect(() => resolveOptions({ origin: ORIGIN } as AuthOptions)).toThrow(/store/);
      expect(() => resolveOptions(options({ basePath: 'auth' }))).toThrow(/basePath/);
      expect(() => resolveOptions(options({ session: { idleTtl: -1 } }))).toThrow(/session\.idleTtl/);
    });
  });

  describe('basePath characters that would end up in a cookie Path or a route', () => {
    it.each(['/auth;', '/auth ', '/auth\n', '/auth\r', '/auth?x', '/auth#', '/auth\\'])('refuses %j', (basePath) => {
      expect(() => resolveOptions(options({ basePath }))).toThrow(TypeError);
    });
  });

  describe('allowInsecureHttp', () => {
    it('allows plain http on another host in development, without Secure cookies', () => {
      process.env.NODE_ENV = 'development';
      const resolved = resolveOptions(options({ origin: 'http://app.example.com', allowInsecureHttp: true }));
      expect(resolved.secureCookies).toBe(false);
      expect(resolved.https).toBe(false);
      expect(resolved.origin).toBe('http://app.example.com');
    });

    it('is refused when NODE_ENV=production', () => {
      process.env.NODE_ENV = 'production';
      expect(() => resolveOptions(options({ origin: 'http://app.example.com', allowInsecureHttp: true }))).toThrow(
        /NODE_ENV=production/,
      );
    });

    it('does not weaken a secure origin', () => {
      process.env.NODE_ENV = 'production';
      const resolved = resolveOptions(options({ allowInsecureHttp: true }));
      expect(resolved.secureCookies).toBe(true);
      expect(resolved.https).toBe(true);
    });

    it('leaves loopback http secure under NODE_ENV=production', () => {
      process.env.NODE_ENV = 'production';
      expect(resolveOptions(options({ origin: 'http://localhost:3000' })).secureCookies).toBe(true);
    });
  });
});

describe('limiters passed in', () => {
  it('one without the methods coatcheck calls is refused at once, naming what it lacks', () => {
    const olderLimiter = {
      retryAfter: () => Promise.resolve(0),
      hit: () => Promise.resolve(),
      reset: () => Promise.resolve(),
    } as unknown as AttemptLimiter;
    expect(() => resolveOptions(options({ limiters: { address: olderLimiter } }))).toThrow(
      new TypeError('coatcheck: limiters.address lacks take, refund (see AttemptLimiter)'),
    );
  });

  it('a complete one is used as given', () => {
    const limiter = createMemoryLimiter(DEFAULT_ACCOUNT_POLICY);
    expect(resolveOptions(options({ limiters: { account: limiter } })).limiters.account).toBe(limiter);
  });
});
