// The ceiling: Express 5 answering the protected route with no authentication at all.
import express from 'express';
import { listen } from './listen.mjs';

const app = express();
app.get('/healthz', (req, res) => res.send('ok'));
app.get('/api/profile', (req, res) => res.json({ userId: 'usr_anonymous' }));
listen(app);
