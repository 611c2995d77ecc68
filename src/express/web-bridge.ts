import type { IncomingMessage } from 'node:http';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';

/** A request header as one string (Node already joins repeated `Cookie` headers with `; `). */
function headerOf(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** What `authenticate` reads of an Express request: one object per request, `header` its method. */
export class ExpressRequestFacts {
  readonly method: string;
  readonly #req: IncomingMessage;

  constructor(req: IncomingMessage & { method: string }) {
    this.method = req.method;
    this.#req = req;
  }

  header(name: string): string | null {
    return headerOf(this.#req, name);
  }
}

/** Reads at most `limit` bytes of the body; `truncated` says whether more was left unread. */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total > limit) {
        cleanup();
        req.pause();
        resolve({ body: Buffer.concat(chunks).subarray(0, limit), truncated: true });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ body: Buffer.concat(chunks), truncated: false });
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Whether an earlier middleware (such as `express.json()`) already consumed and parsed the body. */
function alreadyParsed(req: ExpressRequest): boolean {
  return (req as ExpressRequest & { _body?: boolean })._body === true || req.readableEnded;
}

/**
 * The Web `Request` coatcheck's handler takes. The URL is built on the configured origin, never on
 * the `Host` header, so a forged Host cannot change what coatcheck issues.
 */
export async function toWebRequest(
  req: ExpressRequest,
  origin: string,
  bodyLimit: number,
): Promise<{ request: Request; bodyLeftUnread: boolean }> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const init: RequestInit = { method: req.method, headers };
  let bodyLeftUnread = false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    if (alreadyParsed(req)) {
      const parsed: unknown = req.body;
      if (parsed !== undefined) {
        init.body = Buffer.isBuffer(parsed)
          ? new Uint8Array(parsed)
          : typeof parsed === 'string'
            ? parsed
            : JSON.stringify(parsed);
        headers.delete('content-length');
      }
    } else if (Number(headers.get('content-length') ?? 0) > bodyLimit) {
      // Refused on the declared length alone; the handler answers 413 without reading.
      bodyLeftUnread = true;
    } else {
      const { body, truncated } = await readBody(req, bodyLimit + 1);
      // One byte over the limit is enough for the handler to answer 413.
      init.body = new Uint8Array(truncated ? Buffer.concat([body, Buffer.from(' ')]) : body);
      bodyLeftUnread = truncated;
      if (truncated) headers.delete('content-length');
    }
  }
  return { request: new Request(onOrigin(req.originalUrl, origin), init), bodyLeftUnread };
}

/**
 * The request's path and query on the configured origin, whatever form its target took. Resolving
 * the raw target against the origin would let an absolute-form target (`GET http://x@evil/auth/me`,
 * which Express routes by its path) or a path starting `//` choose the host, or throw on a bad
 * port or on credentials: a 500 instead of an answer.
 */
function onOrigin(target: string, origin: string): URL {
  let pathAndQuery = target;
  if (!target.startsWith('/')) {
    const authority = target.indexOf('://');
    const path = authority === -1 ? -1 : target.indexOf('/', authority + 3);
    pathAndQuery = path === -1 ? '/' : target.slice(path);
  }
  const url = new URL(origin);
  const query = pathAndQuery.indexOf('?');
  url.pathname = query === -1 ? pathAndQuery : pathAndQuery.slice(0, query);
  if (query !== -1) url.search = pathAndQuery.slice(query);
  return url;
}

/** Writes a Web `Response` to Express, keeping every `Set-Cookie`. */
export async function sendWebResponse(
  res: ExpressResponse,
  response: Response,
  options: { closeConnection?: boolean } = {},
): Promise<void> {
  res.status(response.status);
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('Set-Cookie', cookies);
  // An unread body cannot be left on a keep-alive connection: it would be parsed as the next request.
  if (options.closeConnection) res.setHeader('Connection', 'close');
  res.end(Buffer.from(await response.arrayBuffer()));
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, so one client has one throttling key. */
export function normalizeAddress(address: string | undefined): string | null {
  if (!address) return null;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
