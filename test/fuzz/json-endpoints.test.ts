import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoForgedIdentity, generatedRequest } from './requests.js';
import { createFuzzWorld, expectWellFormed, fuzzParameters, handle, timeoutFor, type FuzzWorld } from './world.js';

// Every JSON endpoint through `auth.handle(new Request(...))`, in process, thousands of times:
// never a 5xx, never an exception escaping into a 500, always a stable code, quickly; and never an
// identity from what was generated (all of its credentials are forged), except a login with the
// one real email and password, which the generator offers on purpose.

describe('every JSON endpoint, in process', () => {
  let world: FuzzWorld;
  beforeAll(async () => {
    world = await createFuzzWorld();
  });

  it(
    'never 5xx, never a forged identity, always a stable code, each answer within a second',
    async () => {
      const known = {
        email: world.victim.email,
        password: world.victim.password,
        sessionId: 'ses_unknownxxxxxxxxxxxxxx',
      };
      await fc.assert(
        fc.asyncProperty(generatedRequest(known), async (request) => {
          const answer = await handle(world, request.method, request.path, {
            headers: request.headers,
            ...(request.body !== undefined ? { body: request.body } : {}),
          });
          expectWellFormed(answer);
          expectNoForgedIdentity(world.victim, request, answer);
        }),
        fuzzParameters(2500),
      );
      expect(world.internalErrors).toEqual([]);
      // Nothing the generator sent changed the victim: their cookie and token still work.
      const me = await handle(world, 'GET', '/auth/me', {
        headers: { Cookie: `__Host-coatcheck.sid=${world.victim.cookie}` },
      });
      expect(me.status).toBe(200);
      const bearer = await handle(world, 'GET', '/auth/me', {
        headers: { Authorization: `Bearer ${world.victim.accessToken}` },
      });
      expect(bearer.status).toBe(200);
    },
    timeoutFor(2500, 4),
  );

  it(
    "never 5xx with the victim's genuine credentials either, whatever else the request carries",
    async () => {
      const known = {
        email: world.victim.email,
        password: world.victim.password,
        sessionId: 'ses_unknownxxxxxxxxxxxxxx',
      };
      // Read-only routes, so the victim's credentials stay valid for the whole run.
      const readOnly = generatedRequest(known).filter(
        (r) => r.method === 'GET' || r.method === 'HEAD' || r.method === 'OPTIONS',
      );
      await fc.assert(
        fc.asyncProperty(readOnly, fc.constantFrom('cookie', 'bearer'), async (request, how) => {
          const headers = { ...request.headers };
          if (how === 'cookie') headers.Cookie = `__Host-coatcheck.sid=${world.victim.cookie}`;
          else headers.Authorization = `Bearer ${world.victim.accessToken}`;
          const answer = await handle(world, request.method, request.path, { headers });
          expectWellFormed(answer);
          if (answer.status === 200 && answer.body?.user) expect(answer.body.user.id).toBe(world.victim.userId);
        }),
        fuzzParameters(1000),
      );
      expect(world.internalErrors).toEqual([]);
    },
    timeoutFor(1000, 4),
  );
});
