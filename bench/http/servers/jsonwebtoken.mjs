// The seeds' JWT stack: a jsonwebtoken HS256 middleware as tutorials write it.
import express from 'express';
import jwt from 'jsonwebtoken';
import { listen } from './listen.mjs';

const JWT_SECRET = 'a bench secret of at least thirty-two bytes, not a real one';

function authenticateToken(req, res, next) {
  const authHeader = req.headers['authorization'];
  const token = authHeader && authHeader.split(' ')[1];
  if (token == null) return res.sendStatus(401);
  jwt.verify(token, JWT_SECRET, (err, user) => {
    if (err) return res.sendStatus(403);
    req.user = user;
    next();
  });
}

const app = express();
app.get('/healthz', (req, res) => res.send('ok'));
app.post('/login', (req, res) => {
  res.json({ token: jwt.sign({ sub: 'usr_bench', role: 'user' }, JWT_SECRET, { expiresIn: '15m' }) });
});
app.get('/api/profile', authenticateToken, (req, res) => res.json({ userId: req.user.sub }));
listen(app);
