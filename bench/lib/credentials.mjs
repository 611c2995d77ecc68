// Getting a credential from a bench server the way a client would: over HTTP.
/* global fetch -- Node 20 has it; the lint config lists only a few globals for .mjs */
import { randomBytes } from 'node:crypto';

export const ORIGIN = 'http://localhost:3000';

async function post(base, path, body, headers = {}) {
  const response = await fetch(new URL(path, base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN, ...headers },
    body: JSON.stringify(body ?? {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${text.slice(0, 300)}`);
  return { response, body: text ? JSON.parse(text) : undefined };
}

function cookiePair(response) {
  const [cookie] = response.headers.getSetCookie();
  if (!cookie) throw new Error('no Set-Cookie in the login response');
  return cookie.split(';', 1)[0];
}

/** Registers a fresh user on a coatcheck server. */
export async function registerUser(base) {
  const user = {
    email: `bench-${randomBytes(6).toString('hex')}@example.com`,
    password: `bench ${randomBytes(9).toString('base64url')} passphrase`,
  };
  await post(base, '/auth/register', user);
  return user;
}

/** Logs in on a coatcheck server: `session` gives a cookie header, `native` a bearer header and a refresh token. */
export async function coatcheckLogin(base, user, mode) {
  const { response, body } = await post(base, '/auth/login', { ...user, mode });
  if (mode === 'session') return { headers: { cookie: cookiePair(response) } };
  return { headers: { authorization: `Bearer ${body.accessToken}` }, refreshToken: body.refreshToken };
}

/** express-session: POST /login sets the session cookie. */
export async function expressSessionLogin(base) {
  const { response } = await post(base, '/login');
  return { headers: { cookie: cookiePair(response) } };
}

/** jsonwebtoken: POST /login returns a token. */
export async function jsonwebtokenLogin(base) {
  const { body } = await post(base, '/login');
  return { headers: { authorization: `Bearer ${body.token}` } };
}
