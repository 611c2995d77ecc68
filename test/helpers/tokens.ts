import { createPrivateKey, sign as cryptoSign, createHmac, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { deriveKey, unseal } from '../../src/tokens/seal.js';
import type { TestServer } from './server.js';
import { call, registerAndLogin, type Reply } from './server.js';

export const REFRESH_COOKIE = '__Secure-coatcheck.rt';

export const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64url');

/** The refresh cookie value a response set, or `undefined`. */
export function refreshCookieOf(reply: Reply): string | undefined {
  const cookie = reply.cookies.find((c) => c.startsWith(`${REFRESH_COOKIE}=`));
  return cookie?.slice(REFRESH_COOKIE.length + 1).split(';', 1)[0];
}

/** Registers a user and logs in with `mode`; returns what the login gave. */
export async function loginWithTokens(
  server: TestServer,
  mode: 'token' | 'native' = 'token',
  options: { headers?: Record<string, string> } = {},
) {
  const user = await registerAndLogin(server);
  const reply = await call(server, 'POST', '/auth/login', {
    json: { email: user.email, password: user.password, mode },
    headers: options.headers ?? {},
  });
  if (reply.status !== 200) throw new Error(`token login failed: ${reply.status} ${reply.text}`);
  // The cookie session from registerAndLogin is not needed: end it so device lists stay simple.
  await call(server, 'POST', '/auth/logout', { session: user.session });
  return {
    ...user,
    reply,
    accessToken: reply.body.accessToken as string,
    refreshToken: (mode === 'native' ? reply.body.refreshToken : refreshCookieOf(reply)) as string,
  };
}

/** The server's current signing key as a node KeyObject, to forge tokens "signed by us" with bad claims. */
export async function currentSigningKey(
  server: TestServer,
): Promise<{ kid: string; alg: string; key: KeyObject | Buffer; publicJwk: JWK | null }> {
  // The ring's keys are non-extractable: unseal the stored record, as an attacker with the secret could.
  const current = server.auth.tokens!.ring.current();
  const secret = readFileSync(join(server.dataDir, 'secret.key'), 'utf8').trim();
  const jwk = JSON.parse(
    (await unseal(current.record.privateJwkSealed, deriveKey(secret, 'signing-key-seal')))!,
  ) as JWK;
  const key =
    jwk.kty === 'oct' ? Buffer.from(jwk.k!, 'base64url') : createPrivateKey({ key: jwk as never, format: 'jwk' });
  return { kid: current.kid, alg: current.alg, key, publicJwk: current.publicJwk };
}

/**
 * Builds a JWS from raw header and payload JSON text (so duplicate keys and odd types can be
 * sent), signed with `key` for `alg` (ES256 in IEEE P1363 form, as JWS requires).
 */
export function craftToken(
  headerJson: string,
  payloadJson: string,
  alg: string,
  key: KeyObject | Buffer | string,
): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  let signature: Buffer;
  if (alg.startsWith('HS')) {
    signature = createHmac(`sha${alg.slice(2)}`, key)
      .update(input)
      .digest();
  } else if (alg === 'EdDSA') {
    signature = cryptoSign(null, Buffer.from(input), key);
  } else if (alg.startsWith('ES')) {
    signature = cryptoSign(`sha${alg.slice(2)}`, Buffer.from(input), {
      key: key as KeyObject,
      dsaEncoding: 'ieee-p1363',
    });
  } else {
    signature = cryptoSign(`sha${alg.slice(2)}`, Buffer.from(input), key);
  }
  return `${input}.${signature.toString('base64url')}`;
}

/** Standard valid claims for the server, overridable. */
export function claimsFor(
  server: TestServer,
  subject: { userId: string; sessionId: string },
  overrides: Record<string, unknown> = {},
) {
  const iat = Math.floor(server.clock.now() / 1000);
  return {
    iss: 'http://localhost:3000',
    aud: 'http://localhost:3000',
    sub: subject.userId,
    sid: subject.sessionId,
    jti: `at_test${iat}`,
    role: 'user',
    iat,
    exp: iat + 600,
    ...overrides,
  };
}
