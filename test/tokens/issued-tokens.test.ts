import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import { createAuth } from '../../src/create-auth.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { JWT_ALGORITHMS } from '../../src/tokens/key-ring.js';

const ORIGIN = 'https://app.example.com';
const subject = { userId: 'usr_ann', sessionId: 'ses_one', role: 'admin' };

// Access tokens are signed with fast-jwt; what they must be is what jose, the reference, reads.
describe.each(JWT_ALGORITHMS)('access tokens issued with %s', (algorithm) => {
  async function setUp() {
    const clock = createManualClock(Date.UTC(2026, 0, 1, 12, 0, 0, 750));
    const auth = createAuth({
      store: createMemoryStore(),
      origin: ORIGIN,
      clock,
      purgeInterval: 0,
      tokens: { secret: 'a test secret of at least thirty-two bytes', algorithm },
    });
    await auth.ready();
    const tokens = auth.tokens!;
    return { auth, clock, tokens, key: tokens.ring.current() };
  }

  it('are a JWS jose verifies, with exactly our header and claims', async () => {
    const { auth, clock, tokens, key } = await setUp();
    const { token, claims } = tokens.access.issue(subject);
    const iat = Math.floor(clock.now() / 1000);
    expect(claims).toMatchObject({ iss: ORIGIN, aud: ORIGIN, sub: 'usr_ann', sid: 'ses_one', role: 'admin', iat });
    expect(claims.exp).toBe(iat + tokens.access.ttlSeconds);
    expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, kid: key.kid, typ: 'at+jwt' });
    const { payload } = await jwtVerify(token, key.verificationKey, {
      algorithms: [algorithm],
      issuer: ORIGIN,
      audience: ORIGIN,
      typ: 'at+jwt',
      currentDate: new Date(clock.now()),
    });
    expect(payload).toEqual(claims);
    expect(await tokens.access.verify(token)).toEqual(claims);
    await auth.close();
  });

  it('are signed with the key that is current when they are issued', async () => {
    const { auth, clock, tokens, key } = await setUp();
    const rotated = await tokens.ring.rotate();
    // A new key is published first and signs only once every verifier can have fetched it.
    expect(decodeProtectedHeader(tokens.access.issue(subject).token).kid).toBe(key.kid);
    clock.advance(5 * 60_000);
    const { token } = tokens.access.issue(subject);
    expect(rotated.kid).not.toBe(key.kid);
    expect(decodeProtectedHeader(token).kid).toBe(rotated.kid);
    await expect(
      jwtVerify(token, key.verificationKey, { algorithms: [algorithm], issuer: ORIGIN, audience: ORIGIN }),
    ).rejects.toThrow();
    await auth.close();
  });
});
