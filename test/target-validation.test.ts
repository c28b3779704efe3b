import fs from 'node:fs';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitHealthy } from '../worker/health.ts';
import { servedFingerprint } from '../worker/tls-probe.ts';
import { api, eventually, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { type Gunicorn, makeCert, scratchDir, startGunicorn } from './support/services.ts';

/** A name that this machine resolves (through /etc/hosts) to the cloud metadata address. */
const REBOUND = 'deckhand-linklocal-probe.test';
const HOSTS_LINE = `169.254.169.254 ${REBOUND}\n`;
const removeHostsLine = () =>
  fs.writeFileSync('/etc/hosts', fs.readFileSync('/etc/hosts', 'utf8').replaceAll(HOSTS_LINE, ''));

let h: Harness;
let admin: TestUser;
let op: TestUser;
let dir: string;
let gunicorn: Gunicorn;
beforeAll(async () => {
  h = await harness();
  [admin, op] = await Promise.all([h.user('admin'), h.user('operator')]);
  await h.startWorker();
  dir = scratchDir('validation');
  gunicorn = await startGunicorn(dir, await makeCert(dir, 'web', ['localhost', '127.0.0.1']));
  fs.appendFileSync('/etc/hosts', HOSTS_LINE);
});
afterAll(async () => {
  removeHostsLine();
  await gunicorn?.stop();
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const put = (name: string, spec: object) => api(h, admin, 'PUT', `/api/targets/${name}`, spec);

/** The targets page's form (session cookie, same-origin, CSRF token), as htmx posts it. */
function postForm(name: string, spec: object) {
  return h.app.request('http://localhost/ui/targets', {
    method: 'POST',
    headers: {
      Cookie: admin.cookie,
      'Content-Type': 'application/x-www-form-urlencoded',
      Origin: 'http://localhost',
      'Sec-Fetch-Site': 'same-origin',
      'X-CSRF-Token': admin.csrfToken,
      'HX-Request': 'true',
    },
    body: new URLSearchParams({ name, spec: JSON.stringify(spec) }).toString(),
  });
}

const tls = (probe: string, extra: object = {}) => ({
  certPath: '/etc/ssl/a.crt',
  keyPath: '/etc/ssl/a.key',
  reload: 'restart',
  probe,
  ...extra,
});

describe('health and probe endpoints may not be link-local or metadata addresses', () => {
  it.each([
    ['healthUrl', { manager: 'self', healthUrl: 'http://169.254.169.254/latest/meta-data/' }],
    ['healthUrl', { manager: 'self', healthUrl: 'http://0xa9fea9fe/latest/' }],
    ['healthUrl', { manager: 'self', healthUrl: 'http://[fe80::1]:8080/health' }],
    ['healthUrl', { manager: 'self', healthUrl: 'http://[::ffff:169.254.169.254]/' }],
    ['healthUrl', { manager: 'self', healthUrl: 'http://[fd00:ec2::254]/latest/' }],
    ['healthUrl', { manager: 'self', healthUrl: 'http://100.100.100.200/latest/meta-data/' }],
    ['healthUrl', { manager: 'self', healthUrl: 'http://Metadata.Google.Internal./computeMetadata/v1/' }],
    [
      'deploy.healthUrl',
      {
        manager: 'systemd',
        unit: 'shop.service',
        deploy: {
          repo: '/srv/shop.git',
          releasesDir: `${os.tmpdir()}/shop/releases`,
          healthUrl: 'http://169.254.170.2/v2/',
        },
      },
    ],
    ['tls.probe', { manager: 'self', tls: tls('169.254.169.254:443') }],
    ['tls.probe', { manager: 'self', tls: tls('metadata.google.internal:443') }],
  ])('refuses %s pointing there, with a 400 naming the field', async (field, spec) => {
    const res = await put('meta', spec);
    expect(res.status, res.text).toBe(400);
    expect(Object.keys(res.json.error.details.fieldErrors)).toEqual([field]);
    expect((await api(h, admin, 'GET', '/api/targets/meta')).status).toBe(404);
  });

  it('keeps loopback, private and ordinary names allowed', async () => {
    for (const healthUrl of [
      'http://127.0.0.1:8000/health',
      'http://10.1.2.3/',
      'http://[::1]:80/',
      'http://localhost/',
    ]) {
      const res = await put('local', { manager: 'self', healthUrl, tls: tls('192.168.1.10:443') });
      expect(res.status, res.text).toBeLessThan(300);
      expect((await api(h, admin, 'GET', '/api/targets/local')).json.healthUrl).toBe(healthUrl);
    }
  });

  it('refuses the same in the targets page form', async () => {
    const res = await postForm('meta', { manager: 'self', healthUrl: 'http://169.254.169.254/' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('link-local or metadata');
  });

  it('refuses at use time a name that resolves to a metadata address, without connecting', async () => {
    const signal = new AbortController().signal;
    await expect(waitHealthy(`http://${REBOUND}:80/`, { timeoutMs: 5000, verifyTls: true, signal })).rejects.toThrow(
      `refusing to connect to ${REBOUND}: it resolves to 169.254.169.254, a link-local or cloud metadata address`,
    );
    await expect(servedFingerprint(REBOUND, 443)).rejects.toThrow(`it resolves to 169.254.169.254`);
    // A name that resolves to loopback still answers.
    expect(await servedFingerprint('localhost', gunicorn.port)).toMatch(/^[0-9A-F:]+$/);
  });

  it('fails a restart job whose health URL resolves to a metadata address', async () => {
    const spec = {
      manager: 'signal',
      pidfile: gunicorn.pidfile,
      match: gunicorn.match,
      healthUrl: `https://${REBOUND}:${gunicorn.port}/health`,
      healthVerifyTls: false,
      healthTimeoutSec: 2,
    };
    expect((await put('rebound', spec)).status).toBe(201);
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'rebound', mode: 'reload' });
    const job = await waitForStatus(h, op, res.json.id, ['succeeded', 'failed'], 45_000);
    expect(job.status).toBe('failed');
    expect(job.error).toBe(
      `refusing to connect to ${REBOUND}: it resolves to 169.254.169.254, a link-local or cloud metadata address`,
    );
  });
});

describe('every path of a target lies under the managed paths, when saved and when used', () => {
  const outside = [
    ['configPath', { manager: 'supervisor', program: 'web', configPath: '/root/supervisord.conf' }],
    [
      'tls.nginxConfig',
      {
        manager: 'systemd',
        unit: 'nginx.service',
        tls: tls('127.0.0.1:443', { reload: 'nginx', nginxConfig: '/home/app/nginx.conf' }),
      },
    ],
  ] as const;

  it.each(outside)('refuses %s outside them through the API and the targets form', async (field, spec) => {
    const res = await put('outside', spec);
    expect(res.status).toBe(400);
    expect(Object.keys(res.json.error.details.fieldErrors)).toEqual([field]);
    const form = await postForm('outside', spec);
    expect(form.status).toBe(400);
    expect(await form.text()).toContain('paths outside the managed directories');
    expect((await api(h, admin, 'GET', '/api/targets/outside')).status).toBe(404);
  });

  it('refuses to act on a stored target whose paths or endpoints are no longer allowed', async () => {
    // As saved by an older version or under a wider DECKHAND_MANAGED_PATHS: the worker checks again.
    expect((await put('stale', { manager: 'supervisor', program: 'web', configPath: `${dir}/sd.conf` })).status).toBe(
      201,
    );
    const store = (spec: object) =>
      h.database.db.execute(sql`UPDATE targets SET spec = ${JSON.stringify(spec)}::jsonb WHERE name = 'stale'`);
    await store({ manager: 'supervisor', program: 'web', configPath: '/root/supervisord.conf' });
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'stale' });
    expect(res.status).toBe(400);
    expect(res.json.error.details.fieldErrors).toEqual({
      configPath: [expect.stringContaining('/root/supervisord.conf is not under')],
    });

    await store({ manager: 'supervisor', program: 'web', configPath: `${dir}/sd.conf` });
    const queued = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'stale' });
    expect(queued.status).toBe(202);
    await store({
      manager: 'supervisor',
      program: 'web',
      configPath: `${dir}/sd.conf`,
      healthUrl: 'http://169.254.169.254/',
    });
    const job = await waitForStatus(h, op, queued.json.id, ['succeeded', 'failed'], 30_000);
    expect(job.error).toBe('health and probe endpoints may not be link-local or metadata addresses');
  });

  it('says a stored signal target without a process declaration must be saved again', async () => {
    await h.database.db.execute(
      sql`INSERT INTO targets (name, spec) VALUES ('legacy', ${JSON.stringify({ manager: 'signal', pidfile: `${dir}/x.pid` })}::jsonb)`,
    );
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'legacy' });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe(
      'the stored settings of target legacy are no longer valid (match); save it again',
    );
    // The pages that list targets still answer, and say what to do once the worker has published its status.
    const why = 'the stored settings are no longer valid (match); save the target again';
    for (const page of ['/', '/targets', '/deployments']) {
      const html = await eventually(async () => {
        const res = await h.app.request(`http://localhost${page}`, { headers: { Cookie: op.cookie } });
        expect(res.status, page).toBe(200);
        const text = await res.text();
        return page === '/deployments' || text.includes(why) ? text : null;
      });
      if (page !== '/deployments') expect(html).toContain(why);
    }
  });
});
