// A separate API that trusts coatcheck's access tokens with nothing but the issuer's public keys:
// no secret, no database, no call to coatcheck per request (the JWKS is fetched once and cached).
//
//   COATCHECK_URL=http://localhost:3000 PORT=4000 node examples/resource-server.mjs
//   curl -H "Authorization: Bearer $ACCESS_TOKEN" http://localhost:4000/api/whoami
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createRemoteVerifier, JwksUnavailableError } from 'coatcheck/verify';

export function createResourceServer({
  issuer,
  audience = issuer,
  jwksUrl = new URL('/.well-known/jwks.json', issuer),
  cooldownDuration,
}) {
  const verifier = createRemoteVerifier({
    jwksUrl,
    issuer,
    audience,
    ...(cooldownDuration ? { cooldownDuration } : {}),
  });
  return createServer(async (req, res) => {
    const match = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
    let claims = null;
    try {
      claims = match ? await verifier.verify(match[1]) : null;
    } catch (error) {
      if (!(error instanceof JwksUnavailableError)) throw error;
      // The issuer's keys cannot be fetched: an outage to report, not every user's token to refuse.
      console.error(`resource server: ${error.message}`);
      res.writeHead(503, { 'Content-Type': 'application/problem+json', 'Retry-After': '30' });
      res.end(
        JSON.stringify({
          type: 'urn:coatcheck:error:jwks_unavailable',
          title: 'The issuer cannot be reached to check the token',
          status: 503,
          code: 'jwks_unavailable',
        }),
      );
      return;
    }
    if (!claims) {
      res.writeHead(401, {
        'Content-Type': 'application/problem+json',
        'WWW-Authenticate': match ? 'Bearer realm="api", error="invalid_token"' : 'Bearer realm="api"',
      });
      res.end(
        JSON.stringify({
          type: 'urn:coatcheck:error:unauthenticated',
          title: 'Authentication is required',
          status: 401,
          code: 'unauthenticated',
        }),
      );
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        userId: claims.sub,
        role: claims.role,
        sessionId: claims.sid,
        expiresAt: new Date(claims.exp * 1000).toISOString(),
      }),
    );
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const issuerUrl = process.env.COATCHECK_URL ?? 'http://localhost:3000';
  const port = Number(process.env.PORT ?? 4000);
  createResourceServer({ issuer: issuerUrl }).listen(port, () =>
    console.log(`resource server on http://localhost:${port}, trusting ${issuerUrl}`),
  );
}
