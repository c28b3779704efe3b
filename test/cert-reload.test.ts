import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupOf } from '../worker/cert-files.ts';
import { servedFingerprint } from '../worker/tls-probe.ts';
import { api, eventually, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import {
  type Gunicorn,
  makeCert,
  makeChain,
  type Nginx,
  scratchDir,
  startGunicorn,
  startNginx,
} from './support/services.ts';

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('certificate bundles and cert-reload jobs against real nginx and gunicorn', () => {
  let h: Harness;
  let admin: TestUser;
  let dir: string;
  let nginx: Nginx;
  let gunicorn: Gunicorn;
  let live: { cert: string; key: string };
  let gLive: { cert: string; key: string };

  beforeAll(async () => {
    h = await harness();
    admin = await h.user('admin');
    await h.startWorker();
    dir = scratchDir('certs');
    live = await makeCert(dir, 'live', ['localhost']);
    nginx = await startNginx(dir, live.cert, live.key);
    gLive = await makeCert(dir, 'glive', ['localhost', '127.0.0.1']);
    gunicorn = await startGunicorn(dir, gLive);
    const tls = {
      certPath: live.cert,
      keyPath: live.key,
      reload: 'nginx',
      nginxConfig: nginx.config,
      probe: `127.0.0.1:${nginx.port}`,
      serverName: 'localhost',
      probeTimeoutSec: 3,
    };
    await api(h, admin, 'PUT', '/api/targets/edge', {
      manager: 'systemd',
      unit: 'nginx.service',
      names: ['localhost'],
      tls,
    });
    await api(h, admin, 'PUT', '/api/targets/edge-badprobe', {
      manager: 'systemd',
      unit: 'nginx.service',
      names: ['localhost'],
      tls: { ...tls, probe: '127.0.0.1:1' },
    });
    await api(h, admin, 'PUT', '/api/targets/app', {
      manager: 'signal',
      pidfile: gunicorn.pidfile,
      match: gunicorn.match,
      names: ['localhost'],
      tls: { certPath: gLive.cert, keyPath: gLive.key, reload: 'signal', probe: `127.0.0.1:${gunicorn.port}` },
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await gunicorn?.stop();
    await h.close();
  });

  const uploadNew = async (base: string, names = ['localhost']) => {
    const c = await makeCert(dir, base, names);
    const res = await api(h, admin, 'POST', '/api/certificates', { cert: c.certPem, key: c.keyPem });
    expect(res.status).toBe(201);
    return { ...res.json, pem: c.certPem } as { id: string; fingerprint: string; pem: string; warnings: string[] };
  };

  it('swaps nginx’s certificate with a reload; the live endpoint then serves the new one, and the old pair is kept', async () => {
    const oldPem = fs.readFileSync(live.cert, 'utf8');
    expect(await servedFingerprint('127.0.0.1', nginx.port, 'localhost')).toBe(fingerprintOf(oldPem));
    const bundle = await uploadNew('next');
    const res = await api(h, admin, 'POST', '/api/jobs', { kind: 'cert-reload', target: 'edge', bundle: bundle.id });
    expect(res.status).toBe(202);
    const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed'], 30_000);
    expect(job).toMatchObject({ status: 'succeeded', progress: 100, result: { fingerprint: bundle.fingerprint } });
    const servesNew = async () =>
      (await servedFingerprint('127.0.0.1', nginx.port, 'localhost')) === bundle.fingerprint;
    await eventually(servesNew, 2000, 'nginx to serve the new certificate');
    expect(fs.readFileSync(live.cert, 'utf8')).toBe(bundle.pem);
    expect(fs.readFileSync(backupOf(live.cert), 'utf8')).toBe(oldPem);
    expect(fs.statSync(live.key).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.deckhand-new'))).toEqual([]);
  });

  it('restores the old pair when the reload fails (a broken nginx config): nothing is left half-swapped', async () => {
    const before = fs.readFileSync(live.cert, 'utf8');
    const beforeKey = fs.readFileSync(live.key, 'utf8');
    const served = fingerprintOf(before);
    // Let the previous test's reload settle: every nginx worker serves the live pair.
    const settled = async () => (await servedFingerprint('127.0.0.1', nginx.port, 'localhost')) === served;
    await eventually(settled, 10_000, 'nginx to serve the live certificate');
    fs.writeFileSync(path.join(dir, 'conf.d', 'broken.conf'), 'this is not a directive;\n');
    try {
      const bundle = await uploadNew('broken');
      const res = await api(h, admin, 'POST', '/api/jobs', { kind: 'cert-reload', target: 'edge', bundle: bundle.id });
      const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed'], 30_000);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(/^nginx -t -c .* exited with 1; restored the previous certificate/);
      expect(fs.readFileSync(live.cert, 'utf8')).toBe(before);
      expect(fs.readFileSync(live.key, 'utf8')).toBe(beforeKey);
      expect(await servedFingerprint('127.0.0.1', nginx.port, 'localhost')).toBe(served);
    } finally {
      fs.rmSync(path.join(dir, 'conf.d', 'broken.conf'));
    }
  });

  it('restores the old pair and reloads when the live probe never sees the new certificate', async () => {
    const before = fs.readFileSync(live.cert, 'utf8');
    const bundle = await uploadNew('unseen');
    const res = await api(h, admin, 'POST', '/api/jobs', {
      kind: 'cert-reload',
      target: 'edge-badprobe',
      bundle: bundle.id,
    });
    const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed'], 30_000);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(
      /127\.0\.0\.1:1 still serves nothing .*; restored the previous certificate and reloaded$/,
    );
    expect(fs.readFileSync(live.cert, 'utf8')).toBe(before);
    // nginx retires the workers that had the new pair gracefully, so give it a moment.
    const servesOld = async () =>
      (await servedFingerprint('127.0.0.1', nginx.port, 'localhost')) === fingerprintOf(before);
    await eventually(servesOld, 10_000, 'the old certificate to be served again');
  });

  it('swaps gunicorn’s certificate with SIGHUP (a signal target)', async () => {
    const bundle = await uploadNew('gnext', ['localhost', '127.0.0.1']);
    const res = await api(h, admin, 'POST', '/api/jobs', { kind: 'cert-reload', target: 'app', bundle: bundle.id });
    const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed'], 30_000);
    expect(job.status).toBe('succeeded');
    expect(await servedFingerprint('127.0.0.1', gunicorn.port)).toBe(bundle.fingerprint);
  });

  it('a backup planted as a symlink by a service account is refused: the job fails saying so, nothing is written', async () => {
    const victim = path.join(dir, 'root-only.secret');
    fs.writeFileSync(victim, 'root only\n', { mode: 0o600 });
    const before = fs.readFileSync(live.cert, 'utf8');
    fs.rmSync(backupOf(live.cert), { force: true });
    fs.symlinkSync(victim, backupOf(live.cert));
    try {
      const bundle = await uploadNew('planted');
      const res = await api(h, admin, 'POST', '/api/jobs', { kind: 'cert-reload', target: 'edge', bundle: bundle.id });
      expect(res.status).toBe(202);
      const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed'], 30_000);
      expect(job.status).toBe('failed');
      expect(job.error).toContain(`refusing to follow a symlink at ${backupOf(live.cert)}`);
      expect(fs.readFileSync(victim, 'utf8')).toBe('root only\n');
      expect(fs.statSync(victim).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(live.cert, 'utf8')).toBe(before);
    } finally {
      fs.rmSync(backupOf(live.cert), { force: true });
      fs.rmSync(victim, { force: true });
    }
  });

  it('a symlink planted at the old temporary name <cert>.deckhand-new is never followed: the file it names keeps its mode', async () => {
    const victim = path.join(dir, 'root-only.secret');
    fs.writeFileSync(victim, 'root only\n', { mode: 0o600 });
    const planted = [`${live.cert}.deckhand-new`, `${live.key}.deckhand-new`];
    for (const p of planted) fs.symlinkSync(victim, p);
    try {
      const bundle = await uploadNew('next-planted');
      const res = await api(h, admin, 'POST', '/api/jobs', { kind: 'cert-reload', target: 'edge', bundle: bundle.id });
      const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed'], 30_000);
      expect(job.status, job.error).toBe('succeeded');
      expect(fs.readFileSync(victim, 'utf8')).toBe('root only\n');
      expect(fs.statSync(victim).mode & 0o777).toBe(0o600);
      expect(fs.lstatSync(live.cert).isFile()).toBe(true);
      expect(fs.readFileSync(live.cert, 'utf8')).toBe(bundle.pem);
    } finally {
      for (const p of [...planted, victim]) fs.rmSync(p, { force: true });
    }
  });

  describe('upload validation, before anything is touched', () => {
    const post = (cert: string, key: string) => api(h, admin, 'POST', '/api/certificates', { cert, key });

    it('refuses garbage, a wrong key, an expired certificate and a chain out of order, each with its own message', async () => {
      const good = await makeCert(dir, 'v-good', ['localhost']);
      const other = await makeCert(dir, 'v-other', ['localhost']);
      const expired = await makeCert(dir, 'v-expired', ['localhost'], -1);
      const chain = await makeChain(scratchDir('chain'), 'localhost');
      const cases: [string, string, RegExp][] = [
        ['not a pem', good.keyPem, /^the certificate does not parse/],
        [good.certPem, 'not a key', /^the private key does not parse/],
        [good.certPem, other.keyPem, /^the private key does not match the certificate$/],
        [expired.certPem, expired.keyPem, /^the certificate expired on \d{4}-\d\d-\d\dT/],
        [chain.intermediate + chain.leaf, chain.key, /^the private key does not match/],
        [
          chain.leaf + chain.leaf,
          chain.key,
          /^the chain is out of order: certificate 2 \(CN=localhost\) did not issue certificate 1/,
        ],
      ];
      for (const [cert, key, message] of cases) {
        const res = await post(cert, key);
        expect(res.status, String(message)).toBe(400);
        expect(res.json.error.message).toMatch(message);
      }
      const ok = await post(chain.leaf + chain.intermediate, chain.key);
      expect(ok.status).toBe(201);
      expect(ok.json).toMatchObject({ names: ['localhost'], subject: 'CN=localhost', warnings: [] });
    });

    it('warns when fewer than 14 days are left, and stores the key encrypted', async () => {
      const soon = await makeCert(dir, 'v-soon', ['localhost'], 5);
      const res = await post(soon.certPem, soon.keyPem);
      expect(res.status).toBe(201);
      expect(res.json.warnings[0]).toMatch(/expires in [45] days/);
      const raw = await h.database.db.execute(sql`SELECT key_encrypted FROM certificates WHERE id = ${res.json.id}`);
      expect((raw.rows[0]!.key_encrypted as Buffer).includes(Buffer.from('PRIVATE KEY'))).toBe(false);
    });

    it('refuses a bundle whose SAN does not cover the target’s names, when the job is requested', async () => {
      const wrong = await uploadNew('v-wrong', ['example.org']);
      const res = await api(h, admin, 'POST', '/api/jobs', { kind: 'cert-reload', target: 'edge', bundle: wrong.id });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toBe('the certificate does not cover localhost (it covers: example.org)');
    });

    it('lets only admins upload', async () => {
      const op = await h.user('operator');
      const c = await makeCert(dir, 'v-op', ['localhost']);
      expect((await api(h, op, 'POST', '/api/certificates', { cert: c.certPem, key: c.keyPem })).status).toBe(403);
    });
  });
});
