// The seeds' session stack: express-session with connect-redis, configured as its README shows.
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { listen } from './listen.mjs';

const client = createClient({ url: process.env.REDIS_URL });
await client.connect();
const app = express();
app.use(
  session({
    store: new RedisStore({ client, prefix: `ccbench-sess-${process.pid}:` }),
    secret: 'a bench secret, not a real one',
    resave: false,
    saveUninitialized: false,
  }),
);
app.get('/healthz', (req, res) => res.send('ok'));
app.post('/login', (req, res) => {
  req.session.userId = 'usr_bench';
  res.json({ ok: true });
});
app.get('/api/profile', (req, res) => {
  if (!req.session.userId) return res.status(401).json({ error: 'unauthenticated' });
  res.json({ userId: req.session.userId });
});
listen(app, { onClose: () => client.quit() });
