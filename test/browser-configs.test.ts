import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, eventually, type Harness, harness } from './support/app.ts';
import { artifacts, type BrowserRig, browserRig, jobEnd, PASSWORD } from './support/browser.ts';
import { appServer, type NginxSites, startNginxSites } from './support/nginx-sites.ts';
import { scratchDir } from './support/services.ts';

describe('nginx configs in headless Chromium', () => {
  let h: Harness;
  let rig: BrowserRig;
  let nginx: NginxSites;
  let dir: string;

  beforeAll(async () => {
    dir = scratchDir('ui-configs');
    nginx = await startNginxSites(dir);
    h = await harness();
    await h.startWorker();
    await createUser(h.database.db, 'boss', 'admin', PASSWORD);
    const admin = await h.user('admin');
    const r = await api(h, admin, 'PUT', '/api/targets/edge', {
      manager: 'systemd',
      unit: 'nginx.service',
      healthUrl: `http://127.0.0.1:${nginx.port}/health`,
      configs: { kind: 'nginx', main: nginx.main, files: [`${dir}/conf.d/*.conf`], enabledDir: nginx.enabledDir },
    });
    expect(r.status, r.text).toBe(201);
    rig = await browserRig(h);
  }, 60_000);

  afterAll(async () => {
    await rig?.close();
    await nginx?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an admin edits a config, previews the diff, applies it, sees it succeed and the history; then sees drift', async () => {
    const page = await rig.signIn('boss');
    await page.click('nav a:has-text("Configs")');
    await page.click('a:has-text("edge")');
    await page.waitForURL(`${rig.base}/targets/edge/configs`);
    await page.click(`a:has-text("${nginx.appConf}")`);
    const lines = await page.locator('ol.lines li').allTextContents();
    expect(`${lines.join('\n')}\n`).toBe(appServer(nginx.port, 'v1'));
    expect(await page.inputValue('textarea[name=text]')).toBe(appServer(nginx.port, 'v1'));

    await page.fill('textarea[name=text]', appServer(nginx.port, 'from-the-browser'));
    await page.fill('#editor input[name=comment]', 'serve from the browser');
    await page.click('button:has-text("Preview diff")');
    await page.waitForSelector('#preview pre.diff .add');
    expect(await page.textContent('#preview pre.diff .del')).toContain('return 200 "v1"');
    expect(await page.textContent('#preview pre.diff .add')).toContain('return 200 "from-the-browser"');
    await page.screenshot({ path: path.join(artifacts, 'config-preview.png'), fullPage: true });

    await page.click('#editor button:has-text("Apply")');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    expect(await jobEnd(page, 30_000)).toMatchObject({ status: 'succeeded' });
    expect((await nginx.get(nginx.port))?.body).toBe('from-the-browser');

    await page.goto(`${rig.base}/targets/edge/configs/history?path=${encodeURIComponent(nginx.appConf)}`);
    const version = page.locator('section.version').first();
    expect(await version.textContent()).toContain('Version 1');
    expect(await version.textContent()).toContain('serve from the browser');
    expect(await version.locator('pre.diff .add').textContent()).toContain('from-the-browser');

    fs.writeFileSync(nginx.appConf, appServer(nginx.port, 'edited-over-ssh'));
    await page.goto(`${rig.base}/targets/edge/configs`);
    expect(await page.textContent('table.configs')).toContain('drift');
    await page.click(`a:has-text("${nginx.appConf}")`);
    await page.waitForSelector('section.drift');
    expect(await page.textContent('section.drift pre.diff .add')).toContain('edited-over-ssh');
    await page.screenshot({ path: path.join(artifacts, 'config-drift.png'), fullPage: true });
    await page.fill('section.drift input[name=comment]', 'keep the hotfix');
    await page.click('section.drift button:has-text("Adopt")');
    await eventually(async () => (await page.locator('section.drift').count()) === 0, 10_000, 'the drift notice to go');
    expect(await page.textContent('main')).toContain('version 2');
  });
});
