import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

let h: Harness;
let admin: TestUser;
let op: TestUser;
beforeAll(async () => {
  h = await harness();
  [admin, op] = await Promise.all([h.user('admin'), h.user('operator')]);
});
afterAll(() => h.close());

const SECRET = 'hunter2-very-secret-value';
const spec = { manager: 'supervisor', program: 'web', configPath: '/etc/nginx/../supervisor.conf' };

describe('targets API', () => {
  it('creates, reads, updates and deletes a target; admins only may write', async () => {
    const body = { manager: 'systemd', unit: 'nginx.service', names: ['example.org'], env: { DB_PASSWORD: SECRET } };
    expect((await api(h, op, 'PUT', '/api/targets/nginx', body)).status).toBe(403);
    const created = await api(h, admin, 'PUT', '/api/targets/nginx', body);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'nginx',
      manager: 'systemd',
      unit: 'nginx.service',
      env: { DB_PASSWORD: '[secret]' },
    });
    expect((await api(h, op, 'GET', '/api/targets')).json.items.map((t: any) => t.name)).toEqual(['nginx']);
    const updated = await api(h, admin, 'PUT', '/api/targets/nginx', { ...body, unit: 'nginx2.service' });
    expect(updated.status).toBe(200);
    expect((await api(h, op, 'GET', '/api/targets/nginx')).json.unit).toBe('nginx2.service');
    expect((await api(h, op, 'DELETE', '/api/targets/nginx')).status).toBe(403);
    expect((await api(h, admin, 'DELETE', '/api/targets/nginx')).status).toBe(204);
    expect((await api(h, op, 'GET', '/api/targets/nginx')).status).toBe(404);
  });

  it('stores environment secrets encrypted and keeps them out of answers and audit rows', async () => {
    await api(h, admin, 'PUT', '/api/targets/app', { manager: 'self', env: { API_TOKEN: SECRET } });
    const raw = await h.database.db.execute(sql`SELECT secret_env, spec::text AS spec FROM targets WHERE name = 'app'`);
    const row = raw.rows[0] as { secret_env: Buffer; spec: string };
    expect(row.secret_env.includes(Buffer.from(SECRET))).toBe(false);
    expect(row.spec).not.toContain(SECRET);
    const audits = await h.database.db.execute(sql`SELECT details::text AS d FROM audit_log WHERE subject = 'app'`);
    expect(audits.rows.length).toBe(1);
    expect(String(audits.rows[0]!.d)).not.toContain(SECRET);
    expect(String(audits.rows[0]!.d)).toContain('API_TOKEN');
    expect(JSON.stringify((await api(h, admin, 'GET', '/api/targets/app')).json)).not.toContain(SECRET);
  });

  it('keeps the secrets when a target is saved without env, and clears them with env {}', async () => {
    await api(h, admin, 'PUT', '/api/targets/keeps', { manager: 'self', env: { API_TOKEN: SECRET } });
    await api(h, admin, 'PUT', '/api/targets/keeps', { manager: 'self', description: 'edited' });
    const edited = (await api(h, admin, 'GET', '/api/targets/keeps')).json;
    expect(edited).toMatchObject({ description: 'edited', env: { API_TOKEN: '[secret]' } });
    await api(h, admin, 'PUT', '/api/targets/keeps', { manager: 'self', env: {} });
    expect((await api(h, admin, 'GET', '/api/targets/keeps')).json.env).toEqual({});
  });

  it.each([
    ['an unknown manager', { manager: 'docker' }],
    ['a relative path', { manager: 'signal', pidfile: 'run/app.pid', match: { cmdline: 'app' } }],
    [
      'a path outside the managed directories',
      { manager: 'signal', pidfile: '/root/app.pid', match: { cmdline: 'app' } },
    ],
    ['a path that climbs out with ..', spec],
    [
      'a TLS section with a key outside them',
      {
        manager: 'self',
        tls: { certPath: '/etc/ssl/a.crt', keyPath: '/home/a.key', reload: 'restart', probe: 'localhost:443' },
      },
    ],
    ['a unit name with a shell in it', { manager: 'systemd', unit: 'x;rm -rf /.service' }],
    ['a bad env name', { manager: 'self', env: { 'lower-case': 'x' } }],
  ])('refuses %s with a 400 naming the field', async (_what, body) => {
    const res = await api(h, admin, 'PUT', '/api/targets/bad', body);
    expect(res.status).toBe(400);
    expect(res.json.error.details).toBeTruthy();
    expect((await api(h, admin, 'GET', '/api/targets/bad')).status).toBe(404);
  });

  it('refuses a bad target name and a restart of an unknown target', async () => {
    expect((await api(h, admin, 'PUT', '/api/targets/..%2Fetc', { manager: 'self' })).status).toBe(400);
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'nope' });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('unknown target: nope');
    const mode = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'app', mode: 'bounce' });
    expect(mode.status).toBe(400);
  });
});
