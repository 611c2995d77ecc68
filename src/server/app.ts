import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { isUtf8 } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import type { Auth } from '../create-auth.js';
import { toPublicUser } from '../core/user.js';
import { hasDuplicateKeys } from '../tokens/duplicate-keys.js';
import { authRouter, requireAuth } from '../express/index.js';
import { parseCookieHeader } from '../http/cookies.js';
import { problemBody, statusOf } from '../http/problem.js';
import { createRefreshCookie } from '../http/refresh-cookie.js';
import type { AuthCookie } from '../http/session-cookie.js';
import type { ErrorCode } from '../core/errors.js';
import type { AuthLogger } from '../core/logger.js';
import type { NoteStore } from './notes.js';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));
// The browser client as `tsc` builds it (`npm run build`), served to the demo page at /client/.
// Both src/server/ and dist/server/ are two levels below the package root.
const CLIENT_DIR = fileURLToPath(new URL('../../dist/client/', import.meta.url));

// Pages of our own: no inline script or style, nothing framed, nothing from elsewhere.
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** For the demo's cookie panel: a cookie's name and attributes, never its value. */
function describeCookie(cookie: AuthCookie, purpose: string, sent: boolean): Record<string, unknown> {
  // The attributes are those of the cookie as set; only Max-Age differs (the clearing string has 0).
  const attributes = cookie
    .clear()
    .split(';')
    .slice(1)
    .map((part) => part.trim())
    .filter((part) => !part.startsWith('Max-Age='));
  return { name: cookie.name, purpose, attributes, sent };
}

/**
 * Text every store keeps as it was sent: Postgres refuses NUL in TEXT (a 500 otherwise), and half
 * a surrogate pair would come back as U+FFFD.
 */
const storable = (text: string): boolean =>
  !text.includes('\u0000') && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

function sendProblem(res: express.Response, code: ErrorCode, detail?: string): void {
  res
    .status(statusOf(code))
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(code, detail === undefined ? {} : { detail })));
}

const securityHeaders =
  (https: boolean): RequestHandler =>
  (_req, res, next) => {
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    if (https) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    next();
  };

const requestLog =
  (logger: AuthLogger): RequestHandler =>
  (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The path only: query strings and headers can carry secrets and are never logged.
      logger.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        },
        'request',
      );
    });
    next();
  };

/** The app behind `coatcheck serve`: the auth routes, the demo API of API.md and a landing page. */
export function createApp(options: {
  auth: Auth;
  notes: NoteStore;
  logger: AuthLogger;
  trustProxy?: number | string | undefined;
}): Express {
  const { auth, notes, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(requestLog(logger));
  app.use(securityHeaders(auth.options.https));
  app.use(authRouter(auth));

  // No Content-Encoding, as on the auth routes: a body that did not inflate was a 500. Bytes that
  // are not UTF-8 are refused as there too, not stored as U+FFFD.
  const json = express.json({
    limit: '16kb',
    strict: true,
    type: () => true,
    inflate: false,
    verify: (_req, _res, body) => {
      if (!isUtf8(body)) throw Object.assign(new Error('The body is not UTF-8.'), { type: 'entity.parse.failed' });
      // As on the auth routes: two equal keys would mean two things to two parsers.
      if (hasDuplicateKeys(body.toString('utf8'))) throw Object.assign(new Error(), { type: 'entity.repeats.key' });
    },
  });
  const requireJson: RequestHandler = (req, res, next) => {
    if (!req.is('application/json'))
      return sendProblem(res, 'unsupported_media_type', 'Send the body as application/json.');
    next();
  };

  // Every /api answer is one user's data: no cache along the way may keep it.
  app.use('/api', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // Stateless on purpose (API.md): after logout an old access token still reads notes until it expires.
  app.get('/api/notes', requireAuth(auth), async (req, res) => {
    res.json({ notes: await notes.list(req.auth!.userId) });
  });
  app.post('/api/notes', requireAuth(auth), requireJson, json, async (req, res) => {
    const body: unknown = req.body;
    const text = typeof body === 'object' && body !== null && 'text' in body ? body.text : undefined;
    const keys = typeof body === 'object' && body !== null ? Object.keys(body) : [];
    if (typeof text !== 'string' || text.trim() === '' || text.length > 1000 || keys.length !== 1 || !storable(text)) {
      res
        .status(400)
        .type('application/problem+json')
        .send(
          JSON.stringify(
            problemBody('invalid_request', {
              errors: [
                { path: 'text', message: 'Must be 1 to 1000 characters, none of them NUL or half a surrogate pair.' },
              ],
            }),
          ),
        );
      return;
    }
    res.status(201).json({ note: await notes.add(req.auth!.userId, text, auth.options.clock.now()) });
  });

  app.get('/api/admin/users', requireAuth(auth, { roles: ['admin'], strict: true }), async (_req, res) => {
    const users = await auth.options.store.users.list({ limit: 500 });
    res.json({ users: users.map(toPublicUser) });
  });

  // Demo: which auth cookies exist and with which flags, and whether this request carried them.
  // The refresh cookie's Path is the auth base path, so a request to /api/* never carries it.
  const refreshCookie = auth.tokens ? createRefreshCookie(auth.options) : null;
  app.get('/api/demo/cookies', (req, res) => {
    const carried = parseCookieHeader(req.headers.cookie);
    const cookies = [describeCookie(auth.sessionCookie, 'session', carried.has(auth.sessionCookie.name))];
    if (refreshCookie) cookies.push(describeCookie(refreshCookie, 'refresh', carried.has(refreshCookie.name)));
    res.setHeader('Cache-Control', 'no-store');
    res.json({ cookies });
  });

  // A known path with another method is 405 with what it allows, not the 404 of an unknown path.
  const methodNotAllowed =
    (allow: string): RequestHandler =>
    (_req, res) => {
      res.setHeader('Allow', allow);
      sendProblem(res, 'method_not_allowed');
    };
  app.all('/api/notes', methodNotAllowed('GET, HEAD, POST'));
  app.all('/api/admin/users', methodNotAllowed('GET, HEAD'));
  app.all('/api/demo/cookies', methodNotAllowed('GET, HEAD'));

  app.use(express.static(PUBLIC_DIR, { index: 'index.html', dotfiles: 'ignore', redirect: false }));
  app.use('/client', express.static(CLIENT_DIR, { index: false, dotfiles: 'ignore', redirect: false }));

  app.use((_req, res) => sendProblem(res, 'not_found'));

  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const type = (error as { type?: unknown } | null)?.type;
    // A client that went away mid-request is not a server error, and there is nobody to answer.
    // Not `req.destroyed`: Node destroys every request once its body has been read, so that test
    // left each error after the body parser (a notes store down: 503) unanswered and unlogged.
    if (type === 'request.aborted' || req.readableAborted || res.destroyed) return;
    if (type === 'entity.too.large') return sendProblem(res, 'payload_too_large');
    if (type === 'entity.repeats.key')
      return sendProblem(res, 'invalid_request', 'The body names a field more than once.');
    if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return sendProblem(res, 'invalid_json');
    }
    const name = error instanceof Error ? error.name : typeof error;
    if (name === 'StoreUnavailableError') return sendProblem(res, 'store_unavailable');
    logger.error({ event: 'internal_error', error: name }, 'unexpected error');
    sendProblem(res, 'internal_error');
  };
  app.use(onError);
  return app;
}
