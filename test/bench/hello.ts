// The bare Hono HTML route that the status fragment is compared with.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono().get('/hello', (c) => c.html('<tr><td>hello</td></tr>'));
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT) }, () =>
  process.stdout.write('ready\n'),
);
