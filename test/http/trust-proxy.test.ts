import { describe, expect, it } from 'vitest';
import { call, registerAndLogin, startTestServer } from '../helpers/server.js';

// The address a session records (and the per-address throttles count) comes from X-Forwarded-For
// only through the proxies the operator names; the test server's peer is 127.0.0.1.
const FORWARDED = { 'X-Forwarded-For': '198.51.100.9, 203.0.113.7' };

describe('COATCHECK_TRUST_PROXY', () => {
  it.each([
    ['unset: the peer', {}, '127.0.0.1'],
    ['1: one proxy, so the address it saw', { COATCHECK_TRUST_PROXY: '1' }, '203.0.113.7'],
    ['" 1 ": one proxy too, not the address 0.0.0.1', { COATCHECK_TRUST_PROXY: ' 1 ' }, '203.0.113.7'],
    ['2: two proxies', { COATCHECK_TRUST_PROXY: '2' }, '198.51.100.9'],
    ['loopback: the first address that is not', { COATCHECK_TRUST_PROXY: 'loopback' }, '203.0.113.7'],
  ])('%s', async (_name, env: Record<string, string>, expected) => {
    const server = await startTestServer({ env });
    try {
      const { session } = await registerAndLogin(server, { headers: FORWARDED });
      const list = await call(server, 'GET', '/auth/sessions', { session });
      expect(list.status).toBe(200);
      expect((list.body as { sessions: { ip: string }[] }).sessions.map((entry) => entry.ip)).toEqual([expected]);
    } finally {
      await server.stop();
    }
  });
});
