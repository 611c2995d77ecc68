import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { fileURLToPath } from 'node:url';
import type { Auth } from '../create-auth.js';
import { toPublicUser } from '../core/user.js';
import { authRouter, requireAuth } from '../express/index.js';
import { problemBody, statusOf } from '../http/problem.js';
import type { ErrorCode } from '../core/errors.js';
import type { AuthLogger } from '../core/logger.js';
import type { createNotes } from './notes.js';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

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
  notes: ReturnType<typeof createNotes>;
  logger: AuthLogger;
  trustProxy?: string | undefined;
}): Express {
  const { auth, notes, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(requestLog(logger));
  app.use(securityHeaders(auth.options.https));
  app.use(authRouter(auth));

  const json = express.json({ limit: '16kb', strict: true, type: () => true });
  const requireJson: RequestHandler = (req, res, next) => {
    if (!req.is('application/json'))
      return sendProblem(res, 'unsupported_media_type', 'Send the body as application/json.');
    next();
  };

  // Stateless on purpose (API.md): after logout an old access token still reads notes until it expires.
  app.get('/api/notes', requireAuth(auth), (req, res) => {
    res.json({ notes: notes.list(req.auth!.userId) });
  });
  app.post('/api/notes', requireAuth(auth), requireJson, json, (req, res) => {
    const body: unknown = req.body;
    const text = typeof body === 'object' && body !== null && 'text' in body ? body.text : undefined;
    const keys = typeof body === 'object' && body !== null ? Object.keys(body) : [];
    if (typeof text !== 'string' || text.trim() === '' || text.length > 1000 || keys.length !== 1) {
      res
        .status(400)
        .type('application/problem+json')
        .send(
          JSON.stringify(
            problemBody('invalid_request', { errors: [{ path: 'text', message: 'Must be 1 to 1000 characters.' }] }),
          ),
        );
      return;
    }
    res.status(201).json({ note: notes.add(req.auth!.userId, text, auth.options.clock.now()) });
  });

  app.get('/api/admin/users', requireAuth(auth, { roles: ['admin'], strict: true }), async (_req, res) => {
    const users = await auth.options.store.users.list({ limit: 500 });
    res.json({ users: users.map(toPublicUser) });
  });

  app.use(express.static(PUBLIC_DIR, { index: 'index.html', dotfiles: 'ignore', redirect: false }));

  app.use((_req, res) => sendProblem(res, 'not_found'));

  const onError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    const type = (error as { type?: unknown } | null)?.type;
    if (type === 'entity.too.large') return sendProblem(res, 'payload_too_large');
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
