import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kindEnv } from '../jobs/lib/kind.ts';
import { openEnv } from '../jobs/lib/secret-box.ts';
import { findTargetRow } from '../server/target-service.ts';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

const SECRET = 'hunter2-very-secret-value';

describe('the target form, its Edit, Duplicate, Delete and JSON import/export (app.request)', () => {
  let h: Harness;
  let admin: TestUser;
  let operator: TestUser;

  beforeAll(async () => {
    h = await harness();
    admin = await h.user('admin');
    operator = await h.user('operator');
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A form as htmx posts it from the page: session cookie, same origin, CSRF header. */
  function post(user: TestUser, url: string, fields: [string, string][] = [], csrf: string | null = user.csrfToken) {
    return h.app.request(`http://localhost${url}`, {
      method: 'POST',
      headers: {
        Cookie: user.cookie,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Sec-Fetch-Site': 'same-origin',
        'HX-Request': 'true',
        ...(csrf ? { 'X-CSRF-Token': csrf } : {}),
      },
      body: new URLSearchParams(fields).toString(),
    });
  }
  const page = async (user: TestUser, url: string) => {
    const res = await h.app.request(`http://localhost${url}`, {
      headers: { Cookie: user.cookie, Accept: 'text/html' },
    });
    return { status: res.status, html: await res.text(), headers: res.headers };
  };
  /** The messages shown beside one field. */
  const storedEnv = async (name: string) =>
    openEnv(kindEnv(h.config, h.database.db).secrets, (await findTargetRow(h.database.db, name))!.secretEnv);
  const errorBeside = (html: string, field: string) =>
    new RegExp(`data-error-for="${field.replace(/\./g, '\\.')}">([^<]*)<`).exec(html)?.[1] ?? null;

  const web: [string, string][] = [
    ['mode', 'create'],
    ['name', 'web'],
    ['manager', 'systemd'],
    ['unit', 'web.service'],
    ['healthUrl', 'http://127.0.0.1:8000/health'],
    ['names', 'web.example.com, www.example.com'],
    ['logs.name', 'app'],
    ['logs.kind', 'journal'],
    ['logs.value', 'web.service'],
    ['logs.name', ''],
    ['logs.kind', 'file'],
    ['logs.value', ''],
    ['env.name', 'API_KEY'],
    ['env.value', SECRET],
  ];

  it('creates a target from the form: the same object the API stores, its secret sealed', async () => {
    const res = await post(admin, '/ui/targets/form', web);
    expect(res.status, await res.clone().text()).toBe(204);
    expect(res.headers.get('HX-Redirect')).toBe('/targets/web');
    const got = await api(h, admin, 'GET', '/api/targets/web');
    expect(got.json).toMatchObject({
      manager: 'systemd',
      unit: 'web.service',
      healthUrl: 'http://127.0.0.1:8000/health',
      names: ['web.example.com', 'www.example.com'],
      logs: [{ name: 'app', journal: 'web.service' }],
      env: { API_KEY: '[secret]' },
    });
    expect(await storedEnv('web')).toEqual({ API_KEY: SECRET });
  });

  it('shows each validation error beside the field it names, keeps what was typed, and saves nothing', async () => {
    const bad = web
      .filter(([k]) => !['name', 'unit'].includes(k))
      .concat([
        ['name', 'shop'],
        ['unit', 'shop'],
        ['tls.certPath', 'certs/shop.crt'],
        ['tls.keyPath', '/etc/ssl/shop.key'],
        ['tls.probe', '127.0.0.1:443'],
        ['logs.name', 'errors'],
        ['logs.kind', 'file'],
        ['logs.value', 'log/error.log'],
      ]);
    const res = await post(admin, '/ui/targets/form', bad);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(errorBeside(html, 'unit')).toBe('a unit name such as nginx.service');
    expect(errorBeside(html, 'tls.certPath')).toBe('must be an absolute path');
    expect(errorBeside(html, 'tls.keyPath')).toBeNull();
    // The second log row (the blank one is dropped), named by its place among the rows.
    expect(errorBeside(html, 'logs.1')).toBe('must be an absolute path');
    expect(errorBeside(html, 'logs.0')).toBeNull();
    expect(html).toContain('id="target-form"');
    expect(html).toContain('value="certs/shop.crt"');
    // A secret typed in is not echoed back.
    expect(html).not.toContain(SECRET);
    expect((await api(h, admin, 'GET', '/api/targets/shop')).status).toBe(404);

    const outside = await post(admin, '/ui/targets/form', [
      ['name', 'shop'],
      ['manager', 'supervisor'],
      ['program', 'shop'],
      ['configPath', '/opt/elsewhere/supervisord.conf'],
    ]);
    expect(outside.status).toBe(400);
    expect(errorBeside(await outside.text(), 'configPath')).toMatch(/is not under/);
  });

  it('refuses a new target under a name that exists, and a signal target that declares no process', async () => {
    const again = await post(admin, '/ui/targets/form', web);
    expect(again.status).toBe(400);
    expect(errorBeside(await again.text(), 'name')).toBe('a target named web exists already');
    const signal = await post(admin, '/ui/targets/form', [
      ['name', 'gunicorn'],
      ['manager', 'signal'],
      ['pidfile', '/tmp/gunicorn.pid'],
    ]);
    expect(signal.status).toBe(400);
    expect(errorBeside(await signal.text(), 'match')).toBe('declare exe, cmdline or both');
  });

  it('Edit shows the stored settings and a secret only as "set"; a blank value keeps it', async () => {
    const form = await page(admin, '/targets/web/edit');
    expect(form.status).toBe(200);
    expect(form.html).toContain('value="web.service"');
    expect(form.html).toContain('placeholder="set (leave blank to keep)"');
    expect(form.html).not.toContain(SECRET);
    const edited = await post(admin, '/ui/targets/form', [
      ['mode', 'edit'],
      ['secretsFrom', 'web'],
      ['name', 'web'],
      ['manager', 'systemd'],
      ['unit', 'web2.service'],
      ['env.name', 'API_KEY'],
      ['env.value', ''],
      ['env.name', 'NEW_ONE'],
      ['env.value', 'fresh'],
    ]);
    expect(edited.status, await edited.clone().text()).toBe(204);
    expect((await api(h, admin, 'GET', '/api/targets/web')).json).toMatchObject({ unit: 'web2.service', logs: [] });
    expect(await storedEnv('web')).toEqual({ API_KEY: SECRET, NEW_ONE: 'fresh' });
    const audit = await h.database.db.$client.query(
      "SELECT details FROM audit_log WHERE action = 'target.update' AND subject = 'web' ORDER BY id DESC LIMIT 1",
    );
    expect(JSON.stringify(audit.rows[0].details)).not.toContain(SECRET);
  });

  it('Duplicate pre-fills a new name and copies the secrets on the server, never through the page', async () => {
    const form = await page(admin, '/targets/web/duplicate');
    expect(form.html).toContain('value="web-copy"');
    expect(form.html).not.toContain(SECRET);
    const res = await post(admin, '/ui/targets/form', [
      ['mode', 'duplicate'],
      ['secretsFrom', 'web'],
      ['name', 'web-copy'],
      ['manager', 'systemd'],
      ['unit', 'web-copy.service'],
      ['env.name', 'API_KEY'],
      ['env.value', ''],
    ]);
    expect(res.status).toBe(204);
    expect(await storedEnv('web-copy')).toEqual({ API_KEY: SECRET });
    expect(await storedEnv('web')).toEqual({ API_KEY: SECRET, NEW_ONE: 'fresh' });
  });

  it('exports a target as JSON without its secrets, and imports it back through the same validation', async () => {
    const exported = await page(admin, '/targets/web/export.json');
    expect(exported.status).toBe(200);
    expect(exported.headers.get('Content-Disposition')).toBe('attachment; filename="web.json"');
    const doc = JSON.parse(exported.html);
    expect(doc).toMatchObject({ name: 'web', manager: 'systemd', unit: 'web2.service' });
    expect(exported.html).not.toContain(SECRET);
    expect(doc.env).toBeUndefined();

    const imported = await post(admin, '/ui/targets', [
      ['name', ''],
      ['spec', JSON.stringify({ ...doc, name: 'web-imported' })],
    ]);
    expect(imported.status).toBe(204);
    expect(imported.headers.get('HX-Redirect')).toBe('/targets/web-imported');
    expect((await api(h, admin, 'GET', '/api/targets/web-imported')).json.unit).toBe('web2.service');

    const bad = await post(admin, '/ui/targets', [['spec', JSON.stringify({ ...doc, unit: 'nope', extra: 1 })]]);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('unit: a unit name such as nginx.service');
    const nested = await post(admin, '/ui/targets', [
      [
        'spec',
        JSON.stringify({
          ...doc,
          name: 'web-nested',
          tls: { certPath: 'a.crt', keyPath: '/etc/ssl/a.key', reload: 'restart', probe: '127.0.0.1:443' },
        }),
      ],
    ]);
    expect(nested.status).toBe(400);
    expect(await nested.text()).toContain('tls.certPath: must be an absolute path');
  });

  it('refuses the form, Delete and the lock release to non-admins (403) and without the CSRF token (403)', async () => {
    for (const url of ['/ui/targets/form', '/ui/targets/web/delete', '/ui/targets/web/lock/release']) {
      expect((await post(operator, url, web)).status, url).toBe(403);
      expect((await post(admin, url, web, null)).status, url).toBe(403);
      expect((await post(admin, url, web, 'wrong-token')).status, url).toBe(403);
    }
    for (const url of ['/targets/new', '/targets/web/edit', '/targets/web/duplicate', '/targets/import']) {
      expect((await page(operator, url)).status, url).toBe(403);
    }
    expect((await api(h, admin, 'GET', '/api/targets/web')).status).toBe(200);
  });

  it('deletes a target, audited as the API does; an unknown one is a 404', async () => {
    const res = await post(admin, '/ui/targets/web-imported/delete');
    expect(res.status).toBe(204);
    expect(res.headers.get('HX-Redirect')).toBe('/targets');
    expect((await api(h, admin, 'GET', '/api/targets/web-imported')).status).toBe(404);
    const audit = await h.database.db.$client.query(
      "SELECT actor FROM audit_log WHERE action = 'target.delete' AND subject = 'web-imported'",
    );
    expect(audit.rows).toEqual([{ actor: admin.username }]);
    expect((await post(admin, '/ui/targets/web-imported/delete')).status).toBe(404);
    expect((await post(admin, '/ui/targets/web/lock/release')).status).toBe(404);
  });
});
