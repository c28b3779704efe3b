import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordVersion } from '../db/config-versions.ts';
import { api, eventually, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { appServer, type NginxSites, startNginxSites } from './support/nginx-sites.ts';
import { scratchDir } from './support/services.ts';

describe('nginx configs: list, read, apply, test, restore, drift and sites against a real nginx', () => {
  let h: Harness;
  let admin: TestUser;
  let operator: TestUser;
  let viewer: TestUser;
  let nginx: NginxSites;
  let dir: string;
  const T = 'edge';

  const job = async (body: Record<string, unknown>, as = admin) => {
    const r = await api(h, as, 'POST', '/api/jobs', { kind: 'config', target: T, ...body });
    expect(r.status, r.text).toBe(202);
    return waitForStatus(h, admin, r.json.id, ['succeeded', 'failed'], 30_000);
  };
  const served = async (body: string, port = nginx.port) =>
    eventually(async () => (await nginx.get(port))?.body === body, 10_000, `nginx to serve ${body}`);
  const q = (p: string) => encodeURIComponent(p);

  beforeAll(async () => {
    dir = scratchDir('configs');
    nginx = await startNginxSites(dir);
    h = await harness();
    await h.startWorker();
    [admin, operator, viewer] = await Promise.all([h.user('admin'), h.user('operator'), h.user('viewer')]);
    const spec = {
      manager: 'systemd',
      unit: 'nginx.service',
      healthUrl: `http://127.0.0.1:${nginx.port}/health`,
      healthTimeoutSec: 2,
      configs: {
        kind: 'nginx',
        main: nginx.main,
        files: [`${dir}/conf.d/*.conf`, `${dir}/sites-available/*`],
        enabledDir: nginx.enabledDir,
      },
    };
    const r = await api(h, admin, 'PUT', `/api/targets/${T}`, spec);
    expect(r.status, r.text).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('saving refuses config paths outside the managed paths and globs above the last component', async () => {
    const bad = await api(h, admin, 'PUT', '/api/targets/bad', {
      manager: 'systemd',
      unit: 'nginx.service',
      configs: { kind: 'nginx', main: '/usr/share/nginx.conf', files: [`${dir}/*/x.conf`, '/home/*'] },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json.error.details)).toContain('a glob only in the last component');
    const outside = await api(h, admin, 'PUT', '/api/targets/bad', {
      manager: 'systemd',
      unit: 'nginx.service',
      configs: { kind: 'nginx', main: '/usr/share/nginx.conf', files: ['/home/*'] },
    });
    expect(outside.status).toBe(400);
    expect(Object.keys(outside.json.error.details.fieldErrors)).toEqual(['configs.main', 'configs.files.0']);
  });

  it('lists the files the globs match, without versions yet, and reads one', async () => {
    fs.symlinkSync('/etc/passwd', path.join(dir, 'conf.d/planted.conf'));
    const list = await api(h, viewer, 'GET', `/api/targets/${T}/configs`);
    expect(list.status, list.text).toBe(200);
    expect(list.json.items).toEqual([
      { path: nginx.appConf, enabled: false, drift: false, version: null },
      { path: nginx.extraSite, enabled: false, drift: false, version: null },
    ]);
    const file = await api(h, viewer, 'GET', `/api/targets/${T}/configs/file?path=${q(nginx.appConf)}`);
    expect(file.status, file.text).toBe(200);
    expect(file.json).toEqual({ path: nginx.appConf, text: appServer(nginx.port, 'v1'), version: null, drift: false });
    // A symlink planted in a config directory is neither listed nor read.
    const planted = await api(
      h,
      viewer,
      'GET',
      `/api/targets/${T}/configs/file?path=${q(`${dir}/conf.d/planted.conf`)}`,
    );
    expect(planted.status).toBe(422);
    fs.unlinkSync(path.join(dir, 'conf.d/planted.conf'));
  });

  it('refuses paths outside the globs, traversal and unknown fields with a 400; changes are admin-only', async () => {
    for (const p of ['/etc/passwd', `${dir}/conf.d/../nginx.conf`, `${dir}/nginx.conf`, `${dir}/conf.d/x.txt`]) {
      const read = await api(h, viewer, 'GET', `/api/targets/${T}/configs/file?path=${q(p)}`);
      expect(read.status, p).toBe(400);
      const hist = await api(h, viewer, 'GET', `/api/targets/${T}/configs/history?path=${q(p)}`);
      expect(hist.status, p).toBe(400);
      const r = await api(h, admin, 'POST', '/api/jobs', {
        kind: 'config',
        target: T,
        path: p,
        text: 'x',
        comment: 'c',
      });
      expect(r.status, p).toBe(400);
      expect(r.json.error.details.fieldErrors.path).toBeDefined();
    }
    const extra = await api(h, admin, 'POST', '/api/jobs', {
      kind: 'config',
      target: T,
      path: nginx.appConf,
      text: 'x',
      comment: 'c',
      force: true,
    });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.json.error.details)).toContain('force');
    const noComment = await api(h, admin, 'POST', '/api/jobs', {
      kind: 'config',
      target: T,
      path: nginx.appConf,
      text: 'x',
    });
    expect(noComment.status).toBe(400);
    const change = { kind: 'config', target: T, path: nginx.appConf, text: 'x', comment: 'c' };
    expect((await api(h, viewer, 'POST', '/api/jobs', change)).status).toBe(403);
    expect((await api(h, operator, 'POST', '/api/jobs', change)).status).toBe(403);
    const adopt = { path: nginx.appConf, comment: 'c' };
    expect((await api(h, operator, 'POST', `/api/targets/${T}/configs/adopt`, adopt)).status).toBe(403);
    expect(fs.readFileSync(nginx.appConf, 'utf8')).toBe(appServer(nginx.port, 'v1'));
  });

  it('applies a good change: nginx serves it, the old file is backed up outside nginx’s tree, and version 1 holds the diff', async () => {
    const done = await job({ path: nginx.appConf, text: appServer(nginx.port, 'v2'), comment: 'serve v2' });
    expect(done.status, done.error).toBe('succeeded');
    expect(done.result).toMatchObject({ version: 1 });
    await served('v2');
    const backups = path.join(h.config.DECKHAND_DATA_DIR, 'config-backups', T);
    expect(fs.readdirSync(backups)).toEqual([`${done.id}-app.conf`]);
    expect(fs.readFileSync(path.join(backups, `${done.id}-app.conf`), 'utf8')).toBe(appServer(nginx.port, 'v1'));
    expect(fs.readdirSync(path.join(dir, 'conf.d'))).toEqual(['app.conf']);
    const hist = await api(h, viewer, 'GET', `/api/targets/${T}/configs/history?path=${q(nginx.appConf)}`);
    expect(hist.json.items).toHaveLength(1);
    expect(hist.json.items[0]).toMatchObject({
      version: 1,
      actor: admin.username,
      comment: 'serve v2',
      origin: 'applied',
    });
    expect(hist.json.items[0].diff).toContain('-  location / { return 200 "v1"; }\n+  location / { return 200 "v2"; }');
  });

  it('a broken change (nginx -t fails) leaves the old config serving and fails with nginx’s message', async () => {
    const broken = `${appServer(nginx.port, 'v3')}bogus_directive on;\n`;
    const done = await job({ path: nginx.appConf, text: broken, comment: 'broken' });
    expect(done.status).toBe('failed');
    expect(done.error).toContain('unknown directive "bogus_directive"');
    expect(done.error).toContain('restored the previous config');
    expect(fs.readFileSync(nginx.appConf, 'utf8')).toBe(appServer(nginx.port, 'v2'));
    expect((await nginx.get(nginx.port))?.body).toBe('v2');
  });

  it('a change that passes nginx -t but fails the health probe is restored, file and behaviour', async () => {
    const sick = appServer(nginx.port, 'v3', 'return 500;');
    const done = await job({ path: nginx.appConf, text: sick, comment: 'sick' });
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/health check failed: .*\/health answered 500/);
    expect(fs.readFileSync(nginx.appConf, 'utf8')).toBe(appServer(nginx.port, 'v2'));
    // The job ends once nginx's workers of the restored config serve: none of the sick one answers.
    expect(await nginx.get(nginx.port, '/health')).toEqual({ status: 200, body: 'ok' });
    expect((await nginx.get(nginx.port))?.body).toBe('v2');
  });

  it('a change nginx -t passes but the running nginx cannot take in (its listen address is taken) fails and is put back', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const text = `${appServer(nginx.port, 'v4')}server {\n  listen 127.0.0.1:${port};\n  return 200 "x";\n}\n`;
      const done = await job({ path: nginx.appConf, text, comment: 'taken port' });
      expect(done.status).toBe('failed');
      expect(done.error).toContain('did not take the new config in');
      expect(done.error).toContain('restored the previous config and reloaded');
      expect(fs.readFileSync(nginx.appConf, 'utf8')).toBe(appServer(nginx.port, 'v2'));
      expect((await nginx.get(nginx.port))?.body).toBe('v2');
      expect(fs.readFileSync(path.join(dir, 'error.log'), 'utf8')).toContain(`bind() to 127.0.0.1:${port} failed`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('test only: nginx -t judges the candidate, and the live file never changes', async () => {
    const bad = await job({ path: nginx.appConf, text: 'bogus_directive on;\n', comment: 'try', test: true });
    expect(bad.status).toBe('failed');
    expect(bad.error).toContain('unknown directive "bogus_directive"');
    const good = await job({ path: nginx.appConf, text: appServer(nginx.port, 'v9'), comment: 'try', test: true });
    expect(good.status, good.error).toBe('succeeded');
    expect(good.result).toMatchObject({ tested: true });
    expect(fs.readFileSync(nginx.appConf, 'utf8')).toBe(appServer(nginx.port, 'v2'));
    expect((await nginx.get(nginx.port))?.body).toBe('v2');
    const hist = await api(h, viewer, 'GET', `/api/targets/${T}/configs/history?path=${q(nginx.appConf)}`);
    expect(hist.json.items).toHaveLength(1);
  });

  it('an edit outside Deckhand shows as drift with its diff until an admin adopts it', async () => {
    fs.writeFileSync(nginx.appConf, appServer(nginx.port, 'by-hand'));
    nginx.reload();
    await served('by-hand');
    const list = await api(h, viewer, 'GET', `/api/targets/${T}/configs`);
    expect(list.json.items[0]).toEqual({ path: nginx.appConf, enabled: false, drift: true, version: 1 });
    const file = await api(h, viewer, 'GET', `/api/targets/${T}/configs/file?path=${q(nginx.appConf)}`);
    expect(file.json).toMatchObject({ drift: true, version: 1 });
    const adopted = await api(h, admin, 'POST', `/api/targets/${T}/configs/adopt`, {
      path: nginx.appConf,
      comment: 'hotfix made by hand',
    });
    expect(adopted.status, adopted.text).toBe(201);
    expect(adopted.json).toMatchObject({ version: 2, origin: 'adopted', actor: admin.username });
    expect(adopted.json.diff).toContain('+  location / { return 200 "by-hand"; }');
    const after = await api(h, viewer, 'GET', `/api/targets/${T}/configs`);
    expect(after.json.items[0]).toEqual({ path: nginx.appConf, enabled: false, drift: false, version: 2 });
    const again = await api(h, admin, 'POST', `/api/targets/${T}/configs/adopt`, { path: nginx.appConf, comment: 'x' });
    expect(again.status).toBe(409);
  });

  it('restoring an old version serves the old behaviour again and records it as a new version', async () => {
    const done = await job({ path: nginx.appConf, version: 1, comment: 'back to v2' });
    expect(done.status, done.error).toBe('succeeded');
    expect(done.result).toMatchObject({ version: 3 });
    await served('v2');
    expect(fs.readFileSync(nginx.appConf, 'utf8')).toBe(appServer(nginx.port, 'v2'));
    const hist = await api(h, viewer, 'GET', `/api/targets/${T}/configs/history?path=${q(nginx.appConf)}`);
    expect(hist.json.items.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    expect(hist.json.items[0].comment).toBe('back to v2 (restores version 1)');
    const missing = await api(h, admin, 'POST', '/api/jobs', {
      kind: 'config',
      target: T,
      path: nginx.appConf,
      version: 99,
      comment: 'x',
    });
    expect(missing.status).toBe(400);
  });

  it('enables a site by its sites-enabled symlink and disables it again', async () => {
    expect(await nginx.get(nginx.extraPort)).toBeNull();
    const on = await job({ path: nginx.extraSite, enabled: true, comment: 'open extra' });
    expect(on.status, on.error).toBe('succeeded');
    const link = path.join(nginx.enabledDir, 'extra');
    expect(fs.readlinkSync(link)).toBe(nginx.extraSite);
    await served('extra', nginx.extraPort);
    const list = await api(h, viewer, 'GET', `/api/targets/${T}/configs`);
    expect(list.json.items[1]).toMatchObject({ path: nginx.extraSite, enabled: true });
    const off = await job({ path: nginx.extraSite, enabled: false, comment: 'close extra' });
    expect(off.status, off.error).toBe('succeeded');
    expect(fs.existsSync(link)).toBe(false);
    await eventually(async () => (await nginx.get(nginx.extraPort)) === null, 10_000, 'extra to stop serving');
  });

  it('versions recorded at the same moment (an adopt during an apply) get consecutive numbers, each diffed against the one before', async () => {
    const file = `${dir}/conf.d/other.conf`;
    const rows = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        recordVersion(h.database.db, {
          target: T,
          path: file,
          text: `line ${i}\n`,
          comment: `c${i}`,
          actor: { id: null, name: 'test' },
          jobId: null,
          origin: 'adopted',
          before: '',
        }),
      ),
    );
    const byVersion = rows.sort((a, b) => a.version - b.version);
    expect(byVersion.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (let i = 1; i < byVersion.length; i++) {
      expect(byVersion[i]!.diff).toContain(`-${byVersion[i - 1]!.text}`);
    }
  });

  it('a target whose host no worker serves: the API answers 503 host_unavailable and the page says so', async () => {
    const spec = {
      manager: 'systemd',
      unit: 'nginx.service',
      configs: { kind: 'nginx', main: nginx.main, files: [`${dir}/conf.d/*.conf`] },
    };
    expect((await api(h, admin, 'PUT', '/api/targets/far', spec)).status).toBe(201);
    await h.database.pool.query("UPDATE targets SET host = 'elsewhere' WHERE name = 'far'");
    const r = await api(h, viewer, 'GET', '/api/targets/far/configs');
    expect(r.status).toBe(503);
    expect(r.json.error).toMatchObject({ code: 'host_unavailable', message: 'no worker is serving host elsewhere' });
    const page = await h.app.request('/targets/far/configs', {
      headers: { Cookie: viewer.cookie, Accept: 'text/html' },
    });
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain(
      'no worker is serving host elsewhere: the files cannot be read until a worker of that host runs',
    );
  });
});
