import { ORIGIN } from './server.js';

/** Answers a request itself instead of the server (a fault on cue), or `undefined` to pass it on. */
export type Intercept = (url: URL, request: Request) => Response | undefined;

/**
 * A browser's cookie jar and Origin header in front of the real server, for the browser client
 * run in Node: requests to `ORIGIN` go to `server.url`, cookies are kept and sent back as a
 * browser would. `paths` records every path asked for; `intercept` may answer one itself.
 */
export function jarFetch(server: { url: string }, intercept?: Intercept) {
  const jar = new Map<string, string>();
  const paths: string[] = [];
  const fetchWithJar = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url.replace(new URL(request.url).origin, server.url));
    paths.push(url.pathname);
    const injected = intercept?.(url, request);
    if (injected) return injected;
    const headers = new Headers(request.headers);
    headers.set('Origin', ORIGIN);
    if (jar.size > 0) headers.set('Cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
    const response = await fetch(url, { method: request.method, headers, body });
    for (const cookie of response.headers.getSetCookie()) {
      const [name, value] = cookie.split(';')[0]!.split('=') as [string, string];
      if (value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
  return { fetch: fetchWithJar, jar, paths };
}
