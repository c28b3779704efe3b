import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, eventually, type Harness, harness } from './support/app.ts';
import { artifacts, type BrowserRig, browserRig, PASSWORD } from './support/browser.ts';
import { type LoggingNginx, nginxTarget, startLoggingNginx } from './support/nginx-logs.ts';
import { scratchDir } from './support/services.ts';

describe('the Logs page in headless Chromium, on a real nginx access log', () => {
  let h: Harness;
  let rig: BrowserRig;
  let nginx: LoggingNginx;
  let dir: string;

  beforeAll(async () => {
    dir = scratchDir('ui-logs');
    h = await harness({ env: { DECKHAND_LOG_PATHS: dir } });
    await h.startWorker();
    await createUser(h.database.db, 'watcher', 'viewer', PASSWORD);
    nginx = await startLoggingNginx(dir);
    const admin = await h.user('admin');
    const put = await api(
      h,
      admin,
      'PUT',
      '/api/targets/edge',
      nginxTarget(dir, [{ name: 'access', file: nginx.access }]),
    );
    expect(put.status, put.text).toBe(201);
    for (let i = 0; i < 12; i++) await nginx.get(`/ok/page-${i}?q=<b>x</b>`);
    await eventually(async () => fs.readFileSync(nginx.access, 'utf8').includes('page-11'));
    rig = await browserRig(h);
  });
  afterAll(async () => {
    await rig?.close();
    await nginx?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a viewer sees the newest lines, a grep highlights its matches, Older pages on, and Follow shows a new request', async () => {
    const page = await rig.signIn('watcher');
    await page.goto(`${rig.base}/targets`);
    await page.click('#target-edge a[href="/targets/edge/logs"]');
    await page.waitForURL(/\/targets\/edge\/logs$/);
    const lines = page.locator('#log-lines li');
    await expect.poll(() => lines.count()).toBe(12);
    expect(await lines.first().textContent()).toContain('/ok/page-11');
    // The request's own HTML is shown as text, never as markup.
    expect(await page.locator('#log-lines b').count()).toBe(0);

    await page.fill('input[name=grep]', 'page-1');
    await page.click('button[type=submit]');
    await page.waitForURL(/grep=page-1/);
    const marks = page.locator('#log-lines mark');
    await expect.poll(() => marks.count()).toBe(3);
    expect(await marks.first().textContent()).toBe('page-1');
    expect(await lines.allTextContents()).toEqual([
      expect.stringContaining('/ok/page-11'),
      expect.stringContaining('/ok/page-10'),
      expect.stringContaining('/ok/page-1?'),
    ]);
    await page.screenshot({ path: path.join(artifacts, 'logs-grep.png'), fullPage: true });

    await page.goto(`${rig.base}/targets/edge/logs?source=access&limit=5`);
    await expect.poll(() => lines.count()).toBe(5);
    await page.click('#log-older button');
    await expect.poll(() => lines.count()).toBe(10);
    expect(await lines.nth(5).textContent()).toContain('/ok/page-6');

    await page.click('#log-follow button');
    await page.waitForSelector('#log-follow[data-following=yes]');
    await nginx.get('/ok/followed-live');
    await expect.poll(() => lines.first().textContent(), { timeout: 15_000 }).toContain('/ok/followed-live');
    await page.screenshot({ path: path.join(artifacts, 'logs-follow.png'), fullPage: true });
    await page.click('#log-follow button');
    await page.waitForSelector('#log-follow[data-following=no]');
  });
});
