import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { makeCert, scratchDir, supervisordConfig } from './support/services.ts';

/**
 * Files that root hands to a program as its configuration: `nginx -t -c` alone loads the
 * modules a config names, so a config an app's user could edit is code that user runs as root.
 */
let h: Harness;
let admin: TestUser;
let op: TestUser;
let dir: string;
beforeAll(async () => {
  h = await harness();
  [admin, op] = await Promise.all([h.user('admin'), h.user('operator')]);
  await h.startWorker();
  dir = scratchDir('trusted-config');
});
afterAll(async () => {
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const put = (name: string, spec: object) => api(h, admin, 'PUT', `/api/targets/${name}`, spec);

describe('config files that root hands to nginx and supervisorctl are root’s alone', () => {
  /** A directory of the app's own (uid 1000), as a service account's home or release tree is. */
  function appOwnedDir(name: string): string {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    fs.chownSync(d, 1000, 1000);
    return d;
  }

  it('refuses a supervisor config in a directory the app user owns, and one others may write', async () => {
    const owned = appOwnedDir('app-supervisor');
    const config = supervisordConfig(owned, []);
    expect((await put('sv-owned', { manager: 'supervisor', program: 'web', configPath: config })).status).toBe(201);
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'sv-owned' });
    const job = await waitForStatus(h, op, res.json.id, ['succeeded', 'failed'], 30_000);
    expect(job.error).toBe(`refusing ${config}: ${owned} belongs to uid 1000, who could change it`);

    const shared = path.join(dir, 'shared-supervisor');
    fs.mkdirSync(shared);
    const writable = supervisordConfig(shared, []);
    fs.chmodSync(writable, 0o666);
    expect((await put('sv-writable', { manager: 'supervisor', program: 'web', configPath: writable })).status).toBe(
      201,
    );
    const again = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'sv-writable' });
    const failed = await waitForStatus(h, op, again.json.id, ['succeeded', 'failed'], 30_000);
    expect(failed.error).toBe(`refusing ${writable}: ${writable} is writable by group or others`);
  });

  it('refuses a cert-reload whose nginx config the app user could edit, before touching the pair or running nginx', async () => {
    const owned = appOwnedDir('app-nginx');
    const ran = path.join(owned, 'ran.log');
    const nginxConfig = path.join(owned, 'nginx.conf');
    // `nginx -t` opens the error log it names: had nginx run with this config, ran.log would exist.
    fs.writeFileSync(nginxConfig, `error_log ${ran};\nevents {}\nhttp {}\n`);
    const live = await makeCert(dir, 'edge-live', ['localhost']);
    const before = fs.readFileSync(live.cert, 'utf8');
    const spec = {
      manager: 'systemd',
      unit: 'nginx.service',
      names: ['localhost'],
      tls: { certPath: live.cert, keyPath: live.key, reload: 'nginx', nginxConfig, probe: '127.0.0.1:1' },
    };
    expect((await put('edge-owned', spec)).status).toBe(201);
    const next = await makeCert(dir, 'edge-next', ['localhost']);
    const bundle = await api(h, admin, 'POST', '/api/certificates', { cert: next.certPem, key: next.keyPem });
    expect(bundle.status).toBe(201);
    const res = await api(h, admin, 'POST', '/api/jobs', {
      kind: 'cert-reload',
      target: 'edge-owned',
      bundle: bundle.json.id,
    });
    const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed'], 30_000);
    expect(job.error).toBe(`refusing ${nginxConfig}: ${owned} belongs to uid 1000, who could change it`);
    expect(fs.existsSync(ran)).toBe(false);
    expect(fs.readFileSync(live.cert, 'utf8')).toBe(before);
  });
});
