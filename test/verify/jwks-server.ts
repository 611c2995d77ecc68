import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type CryptoKey } from 'jose';

/** What the JWKS endpoint answers next: the key set, an HTTP error, or a body that is not one. */
export type JwksAnswer = 'keys' | 'error-500' | 'html' | 'not-a-key-set';

export interface JwksServer {
  url: string;
  kid: string;
  answer: JwksAnswer;
  /** Signs an access token as a coatcheck issuer at `issuer` would; `claims` and `header` override. */
  sign(claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

export const ISSUER = 'http://localhost:3000';

/** A real JWKS endpoint on an ephemeral loopback port, with one ES256 key. */
export async function startJwksServer(): Promise<JwksServer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = 'test-key-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_request, response) => {
    if (state.answer === 'error-500') response.writeHead(500).end('upstream trouble');
    else if (state.answer === 'html') response.writeHead(200, { 'Content-Type': 'text/html' }).end('<h1>Login</h1>');
    else if (state.answer === 'not-a-key-set') response.writeHead(200).end(JSON.stringify({ hello: 'world' }));
    else response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const state: JwksServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    kid,
    answer: 'keys',
    sign: (claims = {}, header = {}) => signAccessToken(privateKey, kid, claims, header),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return state;
}

function signAccessToken(
  key: CryptoKey,
  kid: string,
  claims: JWTPayload,
  header: Record<string, unknown>,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: ISSUER,
    sub: 'usr_1',
    sid: 'ses_1',
    role: 'user',
    jti: 'jti_1',
    iat: now,
    exp: now + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...header })
    .sign(key);
}

/** A loopback URL that refuses connections: a port that was just free. */
export async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/.well-known/jwks.json`;
}
