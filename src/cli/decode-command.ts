import { parseArgs } from 'node:util';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { createRemoteVerifier, JwksUnavailableError, type RemoteVerification } from '../verify/index.js';
import { INVALID_TOKEN_MESSAGES } from './invalid-token-messages.js';

const PERSONAL_CLAIMS = [
  'email',
  'name',
  'given_name',
  'family_name',
  'phone_number',
  'address',
  'birthdate',
  'picture',
  'preferred_username',
];

/** Warnings a reviewer would raise about a token, without verifying it. */
export function tokenWarnings(header: Record<string, unknown>, payload: JWTPayload, now: number): string[] {
  const warnings: string[] = [];
  const alg = typeof header.alg === 'string' ? header.alg : '';
  if (alg.toLowerCase() === 'none') warnings.push('alg is "none": the token is not signed at all');
  if (/^HS/i.test(alg))
    warnings.push(`alg is ${alg}: anyone who verifies it can also forge it, and a short secret can be brute-forced`);
  for (const name of ['jku', 'x5u', 'jwk', 'x5c']) {
    if (name in header)
      warnings.push(`header "${name}" names a key: a verifier that honours it can be handed the attacker's key`);
  }
  if (payload.exp === undefined) warnings.push('no exp: the token never expires');
  else if (typeof payload.iat === 'number' && payload.exp - payload.iat > 15 * 60) {
    warnings.push(
      `lifetime is ${Math.round((payload.exp - payload.iat) / 60)} minutes: over 15 minutes, a stolen token stays useful long`,
    );
  }
  if (typeof payload.exp === 'number' && payload.exp * 1000 <= now) warnings.push('expired');
  const personal = PERSONAL_CLAIMS.filter((claim) => claim in payload);
  if (personal.length > 0)
    warnings.push(`payload contains personal data (${personal.join(', ')}): anyone holding the token can read it`);
  return warnings;
}

/** `decode`'s exit codes beyond 0; documented in main.ts's HELP. */
export const DECODE_EXIT = { notValid: 1, jwksUnavailable: 3 } as const;

/**
 * `coatcheck decode <jwt> [--jwks URL --issuer I --audience A]`. Exits 0 (verified, or not asked
 * to), 1 (not a JWT, or not valid) or 3 (the JWKS could not be fetched: the token was not checked).
 */
export async function runDecode(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { jwks: { type: 'string' }, issuer: { type: 'string' }, audience: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const token = positionals[0]?.trim();
  if (!token) throw new TypeError('decode needs a token: coatcheck decode <jwt>');
  let header: Record<string, unknown>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    process.stderr.write('coatcheck: not a JWT (three base64url parts with JSON header and payload)\n');
    return DECODE_EXIT.notValid;
  }
  const now = Date.now();
  const out = process.stdout;
  out.write(`header  ${JSON.stringify(header, null, 2)}\npayload ${JSON.stringify(payload, null, 2)}\n`);
  if (typeof payload.exp === 'number') {
    const seconds = Math.round((payload.exp * 1000 - now) / 1000);
    out.write(
      seconds > 0
        ? `expires in ${seconds} s (${new Date(payload.exp * 1000).toISOString()})\n`
        : `expired ${-seconds} s ago\n`,
    );
  }
  for (const warning of tokenWarnings(header, payload, now)) out.write(`warning: ${warning}\n`);
  if (!values.jwks) {
    out.write('signature NOT verified (pass --jwks URL to verify)\n');
    return 0;
  }
  // Without --issuer/--audience, the token's own iss and aud are what it is compared with.
  const issuer = values.issuer ?? (typeof payload.iss === 'string' ? payload.iss : '');
  const audience = values.audience ?? (typeof payload.aud === 'string' ? payload.aud : issuer);
  const verification = issuer ? await verifyAgainst(values.jwks, token, issuer, audience) : 'no-issuer';
  if (verification === 'jwks-unavailable') return DECODE_EXIT.jwksUnavailable;
  if (verification === 'no-issuer') {
    out.write(`NOT valid against ${values.jwks}: ${INVALID_TOKEN_MESSAGES.invalid_claims} (no iss; pass --issuer)\n`);
    return DECODE_EXIT.notValid;
  }
  out.write(
    verification.valid
      ? `signature and claims verified against ${values.jwks}\n`
      : `NOT valid against ${values.jwks}: ${INVALID_TOKEN_MESSAGES[verification.reason]} (${verification.reason})\n`,
  );
  const note = uncheckedClaimsNote(values);
  if (note) out.write(`${note}\n`);
  return verification.valid ? 0 : DECODE_EXIT.notValid;
}

/** Which of iss and aud were only compared with the token's own values, so not really checked. */
function uncheckedClaimsNote(options: { issuer?: string | undefined; audience?: string | undefined }): string {
  const unchecked = [
    ...(options.issuer === undefined ? [{ claim: 'iss', option: '--issuer' }] : []),
    ...(options.audience === undefined ? [{ claim: 'aud', option: '--audience' }] : []),
  ];
  if (unchecked.length === 0) return '';
  const claims = unchecked.map((entry) => entry.claim).join(' and ');
  const flags = unchecked.map((entry) => entry.option).join(' and ');
  return `note: ${claims} NOT checked, only compared with the token's own (pass ${flags} to check)`;
}

/** Verifies with the JWKS; an outage is reported on stderr and is no verdict on the token. */
async function verifyAgainst(
  jwksUrl: string,
  token: string,
  issuer: string,
  audience: string,
): Promise<RemoteVerification | 'jwks-unavailable'> {
  // A diagnostic: a lifetime up to the longest a server can be configured for (24 h) still
  // verifies; the warnings above already point out one longer than 15 minutes.
  const verifier = createRemoteVerifier({ jwksUrl, issuer, audience, maxTokenLifetime: 24 * 3600 });
  try {
    return await verifier.verifyWithReason(token);
  } catch (error) {
    if (!(error instanceof JwksUnavailableError)) throw error;
    process.stderr.write(
      `coatcheck: could not fetch the JWKS at ${jwksUrl}: ${error.detail}; the token was NOT checked\n`,
    );
    return 'jwks-unavailable';
  }
}
