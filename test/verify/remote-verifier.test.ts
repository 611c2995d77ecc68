import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteVerifier, JwksUnavailableError, type RemoteVerifierOptions } from '../../src/verify/index.js';
import { ISSUER, refusingUrl, startJwksServer, type JwksServer } from './jwks-server.js';

let jwks: JwksServer;

beforeAll(async () => {
  jwks = await startJwksServer();
});
afterAll(async () => {
  await jwks.stop();
});

const verifierFor = (options: Partial<RemoteVerifierOptions> = {}) =>
  createRemoteVerifier({ jwksUrl: jwks.url, issuer: ISSUER, audience: ISSUER, cooldownDuration: 0, ...options });

describe('coatcheck/verify: a JWKS that cannot be fetched is an outage, not a bad token', () => {
  it('throws JwksUnavailableError, naming the cause, when the connection is refused', async () => {
    const verifier = verifierFor({ jwksUrl: await refusingUrl() });
    const token = await jwks.sign();
    const failure = await verifier.verify(token).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JwksUnavailableError);
    expect(failure).toMatchObject({ code: 'jwks_unavailable', message: expect.stringContaining('ECONNREFUSED') });
    await expect(verifier.verifyWithReason(token)).rejects.toBeInstanceOf(JwksUnavailableError);
  });

  it('throws for an HTTP error, a body that is not JSON, and JSON that is not a key set', async () => {
    const token = await jwks.sign();
    const messages: Record<string, string> = {};
    try {
      for (const answer of ['error-500', 'html', 'not-a-key-set'] as const) {
        jwks.answer = answer;
        const failure = await verifierFor()
          .verify(token)
          .catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(JwksUnavailableError);
        messages[answer] = (failure as Error).message;
      }
    } finally {
      jwks.answer = 'keys';
    }
    expect(messages).toEqual({
      'error-500': 'Could not fetch the JWKS: it answered HTTP 500',
      html: 'Could not fetch the JWKS: the response is not JSON',
      'not-a-key-set': 'Could not fetch the JWKS: the response is not a usable JWK Set',
    });
    expect(messages['error-500']).not.toContain(token);
  });

  it('keeps verifying with the cached keys through an outage, and throws for a key it has not seen', async () => {
    const verifier = verifierFor();
    const token = await jwks.sign();
    expect(await verifier.verify(token)).toMatchObject({ sub: 'usr_1' });
    jwks.answer = 'error-500';
    try {
      expect(await verifier.verify(token)).toMatchObject({ sub: 'usr_1' });
      // An unknown kid sends the verifier back to the JWKS, which is down: it cannot say "invalid".
      const rotated = await jwks.sign({}, { kid: 'test-key-2' });
      await expect(verifier.verify(rotated)).rejects.toBeInstanceOf(JwksUnavailableError);
    } finally {
      jwks.answer = 'keys';
    }
  });
});

describe('coatcheck/verify: verifyWithReason says why a token was refused', () => {
  it('names the reason, while verify still answers null', async () => {
    const verifier = verifierFor();
    const now = Math.floor(Date.now() / 1000);
    const [h, p] = (await jwks.sign()).split('.');
    const otherSignature = (await jwks.sign({ jti: 'other' })).split('.')[2];
    const cases = {
      bad_signature: `${h}.${p}.${otherSignature}`,
      expired: await jwks.sign({ iat: now - 700, exp: now - 100 }),
      issuer_mismatch: await jwks.sign({ iss: 'https://evil.example' }),
      audience_mismatch: await jwks.sign({ aud: 'https://other.example' }),
      unknown_key: await jwks.sign({}, { kid: 'nobody' }),
      wrong_type: await jwks.sign({}, { typ: 'JWT' }),
      lifetime_too_long: await jwks.sign({ iat: now, exp: now + 3600 }),
      not_yet_valid: await jwks.sign({ iat: now + 120, exp: now + 600 }),
      invalid_claims: await jwks.sign({ sid: undefined }),
      forbidden_header: await jwks.sign({}, { jku: 'https://evil.example/jwks' }),
      malformed: 'not-a-jwt',
    };
    const reasons: Record<string, unknown> = {};
    for (const [expected, token] of Object.entries(cases)) {
      const verification = await verifier.verifyWithReason(token);
      reasons[expected] = verification.valid ? 'valid' : verification.reason;
      expect(await verifier.verify(token)).toBeNull();
    }
    expect(reasons).toEqual(Object.fromEntries(Object.keys(cases).map((reason) => [reason, reason])));
    expect(await verifier.verifyWithReason(await jwks.sign())).toMatchObject({ valid: true, claims: { sub: 'usr_1' } });
  });
});

describe('coatcheck/verify: issuer and audience spelt as URLs', () => {
  it('accepts an origin with its trailing slash (what new URL(origin).href gives)', async () => {
    const slashed = new URL(ISSUER).href;
    expect(slashed).toBe(`${ISSUER}/`);
    const verifier = verifierFor({ issuer: slashed, audience: slashed });
    expect(await verifier.verify(await jwks.sign())).toMatchObject({ iss: ISSUER });
    // And the other way round: a server whose issuer has the slash, a verifier without it.
    const issuedWithSlash = await jwks.sign({ iss: slashed, aud: slashed });
    expect(await verifierFor().verify(issuedWithSlash)).toMatchObject({ iss: slashed });
  });

  it('still compares anything but a bare origin exactly', async () => {
    const verifier = verifierFor({ issuer: `${ISSUER}/auth/`, audience: ISSUER });
    expect(await verifier.verifyWithReason(await jwks.sign({ iss: `${ISSUER}/auth` }))).toEqual({
      valid: false,
      reason: 'issuer_mismatch',
    });
    const other = verifierFor({ issuer: 'http://localhost:3001/' });
    expect(await other.verifyWithReason(await jwks.sign())).toEqual({ valid: false, reason: 'issuer_mismatch' });
  });
});
