import path from 'node:path';
import { Hono } from 'hono';
import { findTargetHandler } from 'hono/utils/handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRole } from '../server/middleware.ts';
import { apiDoc, type DocCheck, docCheck } from '../server/openapi/describe.ts';
import { buildDocument } from '../server/openapi/document.ts';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

/**
 * GET /api/openapi.json against the app's own route table: every /api route (method and path) is
 * in it, and every request example in it is accepted by the schema its route parses with, both
 * parsed directly and sent through the app. A route added without apiDoc fails the first check.
 */

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};
type Operation = {
  parameters?: { in: string; name: string; example?: string }[];
  requestBody?: { content: Record<string, { schema: unknown; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, unknown>;
  security?: unknown;
};

const ORIGIN = 'http://localhost';
let h: Harness;
let admin: TestUser;
let doc: Doc;

beforeAll(async () => {
  // The shipped scripts, so the documented job examples name real ones.
  h = await harness({ env: { DECKHAND_SCRIPTS_DIR: path.resolve(import.meta.dirname, '../worker/scripts') } });
  admin = await h.user('admin');
  const res = await api(h, await h.user('viewer'), 'GET', '/api/openapi.json');
  expect(res.status).toBe(200);
  doc = res.json;
});
afterAll(() => h.close());

const toOpenApiPath = (p: string) => p.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}');

/** Each /api route of the app as `METHOD /path` (middleware registered with app.use is ALL, not a route). */
function apiRoutes(app: Hono<any>): string[] {
  const seen = new Set<string>();
  for (const r of app.routes) if (r.path.startsWith('/api') && r.method !== 'ALL') seen.add(`${r.method} ${r.path}`);
  return [...seen];
}

function undocumented(app: Hono<any>, d: Doc): string[] {
  return apiRoutes(app).filter((route) => {
    const [method, p] = route.split(' ') as [string, string];
    return !d.paths[toOpenApiPath(p)]?.[method.toLowerCase()];
  });
}

/** The checks apiDoc left on the routes, by `METHOD /openapi/path`. */
function routeChecks(app: Hono<any>): Map<string, DocCheck> {
  const out = new Map<string, DocCheck>();
  for (const r of app.routes) {
    const check = (findTargetHandler(r.handler) as { [docCheck]?: DocCheck })[docCheck];
    if (check) out.set(`${r.method} ${toOpenApiPath(r.path)}`, check);
  }
  return out;
}

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document with the error shape and bearer security; anonymous callers get a 401', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(JSON.stringify(doc.components.responses.BadRequest)).toContain('"details"');
    const anonymous = await h.app.request(`${ORIGIN}/api/openapi.json`);
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.code).toBe('unauthenticated');
  });

  it('describes every /api route of the app, with its errors', () => {
    const routes = apiRoutes(h.app);
    expect(routes.length).toBeGreaterThan(35);
    expect(undocumented(h.app, doc)).toEqual([]);
    for (const route of routes) {
      const [method, p] = route.split(' ') as [string, string];
      const op = doc.paths[toOpenApiPath(p)]![method.toLowerCase()]!;
      expect(Object.keys(op.responses), route).toEqual(expect.arrayContaining(['401', '403', '503']));
    }
  });

  it('finds a route added without a description (and not once it has one)', async () => {
    const app = new Hono();
    app.route('/', h.app as unknown as Hono);
    app.get('/api/widgets', requireRole('viewer'), (c) => c.json({ items: [] }));
    app.post(
      '/api/gadgets',
      apiDoc({ tag: 't', summary: 'Make a gadget', role: 'admin', ok: { status: 201, description: 'Made' } }),
      (c) => c.json({}, 201),
    );
    const d = (await buildDocument(app)) as unknown as Doc;
    expect(undocumented(app, d)).toEqual(['GET /api/widgets']);
    expect(d.paths['/api/gadgets']?.post).toBeDefined();
  });

  it('carries the request schema of each route with a body, and the query of list routes', () => {
    const body = (p: string, m: string) => doc.paths[p]![m]!.requestBody!.content['application/json']!;
    expect(JSON.stringify(body('/api/jobs', 'post').schema)).toContain('"const":"restart"');
    expect(body('/api/users', 'post').schema).toEqual(
      expect.objectContaining({ additionalProperties: false, required: ['username', 'role', 'password'] }),
    );
    const names = doc.paths['/api/jobs']!.get!.parameters!.map((p) => `${p.in}:${p.name}`);
    expect(names).toEqual(expect.arrayContaining(['query:status', 'query:kind', 'query:limit', 'query:cursor']));
  });
});

/** Examples whose answer in this empty world is a 400 for a reason outside the schema (said why). */
const WORLD_REFUSALS: Record<string, string> = {
  'POST /api/targets/{name}/rollback': 'the target has no releases to roll back to',
  'POST /api/certificates': 'the example PEM is a placeholder, not a certificate',
};

describe('every documented request example', () => {
  /** Targets and users first: the other examples act on them; the caller's own password change (new session) last. */
  const FIRST = ['PUT /api/targets/{name}', 'POST /api/users'];
  const LAST = ['POST /api/account/password'];
  const order = (key: string) => (FIRST.includes(key) ? 0 : LAST.includes(key) ? 2 : 1);

  it('passes the schema its route parses with, and the route itself', async () => {
    const checks = routeChecks(h.app);
    const operations = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => ({ key: `${m.toUpperCase()} ${p}`, path: p, op })))
      .filter((o) => o.op.requestBody)
      .sort((a, b) => order(a.key) - order(b.key));
    expect(operations.length).toBeGreaterThanOrEqual(10);
    const wrong: string[] = [];
    for (const { key, path: p, op } of operations) {
      const media = op.requestBody!.content['application/json'];
      const examples = Object.entries(media?.examples ?? {});
      if (examples.length === 0) wrong.push(`${key}: no example`);
      const url = (op.parameters ?? [])
        .filter((x) => x.in === 'path')
        .reduce((u, x) => u.replace(`{${x.name}}`, encodeURIComponent(x.example ?? '')), p);
      for (const [name, { value }] of examples) {
        try {
          checks.get(key)!.parse(value);
        } catch (err) {
          wrong.push(`${key} [${name}] fails its schema: ${String(err).slice(0, 200)}`);
        }
        const res = await h.app.request(`${ORIGIN}${url}`, {
          method: key.split(' ')[0],
          headers: {
            Cookie: admin.cookie,
            'X-CSRF-Token': admin.csrfToken,
            Origin: ORIGIN,
            'Sec-Fetch-Site': 'same-origin',
            'Content-Type': 'application/json',
          },
          body: JSON.stringify(value),
        });
        const text = await res.text();
        if (!(String(res.status) in op.responses)) wrong.push(`${key} [${name}] -> undocumented ${res.status} ${text}`);
        if (res.status === 400 && !(WORLD_REFUSALS[key] && !text.includes('"fieldErrors"'))) {
          wrong.push(`${key} [${name}] -> 400 ${text.slice(0, 300)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
