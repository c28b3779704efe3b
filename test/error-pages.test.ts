import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler, routeNotFound } from '../server/error-response.tsx';
import { HttpError } from '../server/errors.ts';
import { type Harness, harness, type TestUser } from './support/app.ts';

/** What Chromium sends when it navigates to a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('error pages: HTML for browsers, JSON for the API and for API clients', () => {
  let h: Harness;
  let viewer: TestUser;

  const get = async (url: string, headers: Record<string, string>) => {
    const res = await h.app.request(url, { headers });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };

  beforeAll(async () => {
    h = await harness();
    viewer = await h.user('viewer');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a browser gets a styled 404 page, for an unknown address and for a job that does not exist', async () => {
    const page = await get('/no/such/page', { Accept: BROWSER_ACCEPT });
    expect(page.status).toBe(404);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.text).toContain('<title>404 Not found · Deckhand</title>');
    expect(page.text).toContain('There is nothing at this address.');
    expect(page.text).toContain('href="/static/app.css"');
    const job = await get('/jobs/00000000-0000-4000-8000-000000000000', {
      Accept: BROWSER_ACCEPT,
      Cookie: viewer.cookie,
    });
    expect(job.status).toBe(404);
    expect(job.text).toContain('job not found');
    expect(job.text).toContain(viewer.username); // the layout still knows who is signed in
  });

  it('a browser gets a 403 page naming the role it needs', async () => {
    const page = await get('/users', { Accept: BROWSER_ACCEPT, Cookie: viewer.cookie });
    expect(page.status).toBe(403);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.text).toContain('<title>403 Not allowed · Deckhand</title>');
    expect(page.text).toContain('this needs the admin role');
  });

  it('the API answers JSON whatever the Accept header, and so do clients that prefer JSON and htmx swaps', async () => {
    for (const url of ['/api/no-such', '/api/jobs/00000000-0000-4000-8000-000000000000']) {
      const r = await get(url, { Accept: BROWSER_ACCEPT, Cookie: viewer.cookie });
      expect(r.status).toBe(404);
      expect(r.type).toMatch(/^application\/json/);
      expect(JSON.parse(r.text).error.code).toBe('not_found');
    }
    const api403 = await get('/api/users', { Accept: BROWSER_ACCEPT, Cookie: viewer.cookie });
    expect(api403.status).toBe(403);
    expect(JSON.parse(api403.text).error.code).toBe('forbidden');
    const jsonFirst = await get('/no/such/page', { Accept: 'application/json, text/html;q=0.5' });
    expect(jsonFirst.type).toMatch(/^application\/json/);
    const noAccept = await get('/no/such/page', {});
    expect(noAccept.type).toMatch(/^application\/json/);
    const htmx = await get('/users', { Accept: BROWSER_ACCEPT, Cookie: viewer.cookie, 'HX-Request': 'true' });
    expect(htmx.status).toBe(403);
    expect(htmx.text).toMatch(/^<div class="error" role="alert">/);
  });

  describe('a 500 carries a request id that is also in the log line', () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'error' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    // The app's own onError/notFound and request id on a route that fails the way a bug would.
    const app = new Hono()
      .use('*', requestId({ headerName: '' }))
      .get('/boom', () => {
        throw new Error('secret internals: password=hunter2');
      })
      .get('/api/boom', () => {
        throw new Error('secret internals');
      })
      .get('/api/busy', () => {
        throw new HttpError(503, 'host_unavailable', 'no worker is serving host x');
      });
    app.onError(errorHandler(log));
    app.notFound(routeNotFound);

    it('as a page for a browser, and as JSON for the API; the error itself stays out of both', async () => {
      const page = await app.request('/boom', { headers: { Accept: BROWSER_ACCEPT } });
      expect(page.status).toBe(500);
      const html = await page.text();
      const id = /<code id="request-id">([^<]+)<\/code>/.exec(html)?.[1];
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(html).not.toContain('hunter2');
      const logged = lines.find((l) => l.msg === 'unhandled error' && l.requestId === id);
      expect(logged).toBeDefined();

      const api = await app.request('/api/boom', { headers: { Accept: BROWSER_ACCEPT } });
      expect(api.status).toBe(500);
      const body = (await api.json()) as { error: { code: string; requestId: string } };
      expect(body.error.code).toBe('internal');
      expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.error.requestId).not.toBe(id);
      expect(lines.some((l) => l.requestId === body.error.requestId)).toBe(true);
    });

    it('every 5xx JSON error names its request id; a 4xx does not need one', async () => {
      const busy = await app.request('/api/busy');
      expect(busy.status).toBe(503);
      const body = (await busy.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ code: 'host_unavailable', message: 'no worker is serving host x' });
      expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
      const missing = (await (await app.request('/api/none')).json()) as { error: Record<string, unknown> };
      expect(missing.error.requestId).toBeUndefined();
    });
  });
});
