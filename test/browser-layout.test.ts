import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, type Harness, harness, waitForStatus } from './support/app.ts';
import { artifacts, type BrowserRig, browserRig, PASSWORD } from './support/browser.ts';
import { scratchDir } from './support/services.ts';

// What overflows a phone: 63-character target names, deep paths, long unbroken values.
const LONG = 'checkout-frontend-eu-west-production-blue-green-canary-a1b2c3d4';
const deep = (dir: string, file: string) =>
  path.join(dir, 'srv', 'applications', 'checkout-frontend-eu-west-production', 'shared', 'configuration', file);

describe('the layout from 390 px to 1366 px in headless Chromium', () => {
  let h: Harness;
  let rig: BrowserRig;
  let dir: string;
  let jobId: string;

  beforeAll(async () => {
    dir = scratchDir('ui-layout');
    h = await harness({ env: { DECKHAND_LOG_PATHS: dir } });
    await h.startWorker();
    await createUser(h.database.db, 'boss', 'admin', PASSWORD);
    const admin = await h.user('admin', 'an-administrator-with-a-rather-long-username');
    const log = deep(dir, 'access-log-of-the-checkout-frontend.log');
    const main = deep(dir, 'nginx.conf');
    fs.mkdirSync(path.join(path.dirname(main), 'conf.d'), { recursive: true });
    fs.writeFileSync(main, 'events {}\nhttp { include conf.d/*.conf; }\n');
    fs.writeFileSync(path.join(path.dirname(main), 'conf.d', `${LONG}.conf`), `# ${'x'.repeat(300)}\n`);
    fs.writeFileSync(log, `127.0.0.1 - - "GET /${'very-long-unbroken-request-path-'.repeat(12)} HTTP/1.1" 200\n`);
    const put = await api(h, admin, 'PUT', `/api/targets/${LONG}`, {
      manager: 'systemd',
      unit: `${LONG}.service`,
      description: `The ${LONG} service, ${'with a description long enough to wrap several times, '.repeat(3)}`,
      logs: [{ name: 'access', file: log }],
      configs: { kind: 'nginx', main, files: [path.join(path.dirname(main), 'conf.d', '*.conf')] },
      healthUrl: 'http://127.0.0.1:9/health',
      deploy: { repo: `/srv/git/${LONG}/${LONG}.git`, releasesDir: deep(dir, 'releases') },
    });
    expect(put.status, put.text).toBe(201);
    const job = await api(h, admin, 'POST', '/api/jobs', {
      kind: 'script',
      script: 'steps',
      params: { count: 2 },
    });
    expect(job.status, job.text).toBe(202);
    jobId = job.json.id;
    await waitForStatus(h, admin, jobId, ['succeeded']);
    const restartAt3 = {
      cron: '0 3 * * *',
      tz: 'America/Argentina/ComodRivadavia',
      job: { kind: 'restart', target: LONG },
    };
    const schedule = await api(h, admin, 'POST', '/api/schedules', restartAt3);
    expect(schedule.status, schedule.text).toBe(201);
    rig = await browserRig(h);
  }, 60_000);

  afterAll(async () => {
    await rig?.close();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const pages = () => [
    ['dashboard', '/', 'Dashboard'],
    ['job', `/jobs/${jobId}`, 'Dashboard'],
    ['targets', '/targets', 'Targets'],
    ['target', `/targets/${LONG}`, 'Targets'],
    ['target-new', '/targets/new', 'Targets'],
    ['target-edit', `/targets/${LONG}/edit`, 'Targets'],
    ['target-import', '/targets/import', 'Targets'],
    ['deployments', '/deployments', 'Deployments'],
    ['configs', '/configs', 'Configs'],
    ['target-configs', `/targets/${LONG}/configs`, 'Configs'],
    ['logs', `/targets/${LONG}/logs`, 'Targets'],
    ['audit', '/audit', 'Audit log'],
    ['users', '/users', 'Users'],
    ['tokens', '/tokens', 'Tokens'],
    ['schedules', '/schedules', 'Schedules'],
    ['settings', '/settings', 'Settings'],
  ];

  const fitsViewport = (page: Page) =>
    page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));

  async function visitAll(page: Page, size: string) {
    for (const [name, url, current] of pages()) {
      const res = await page.goto(`${rig.base}${url}`);
      expect(res?.status(), url).toBe(200);
      await page.screenshot({ path: path.join(artifacts, `layout-${size}-${name}.png`), fullPage: true });
      const { scroll, inner } = await fitsViewport(page);
      expect(scroll, `${url} at ${size}: ${scroll} px wide in a ${inner} px viewport`).toBeLessThanOrEqual(inner);
      expect(await page.locator('nav a[aria-current=page]').allTextContents(), url).toEqual([current]);
    }
  }

  it('on a 390×844 phone: no page is wider than the screen, the nav folds behind Menu', async () => {
    const page = await rig.signIn('boss');
    await page.setViewportSize({ width: 390, height: 844 });
    await visitAll(page, 'phone');

    await page.goto(`${rig.base}/targets`);
    const menu = page.locator('header summary');
    expect(await menu.isVisible()).toBe(true);
    expect(await page.locator('nav a:has-text("Audit log")').isVisible()).toBe(false);
    await menu.click();
    expect(await page.locator('nav a:has-text("Audit log")').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(artifacts, 'layout-phone-menu-open.png'), fullPage: true });
    await page.click('nav a:has-text("Audit log")');
    await page.waitForURL(`${rig.base}/audit`);

    // A table row is a card: its cells stack and carry their column's name.
    await page.goto(`${rig.base}/audit`);
    const cell = page.locator('table tbody tr').first().locator('td').first();
    expect(await cell.evaluate((td) => getComputedStyle(td).display)).toBe('block');
    expect(await cell.evaluate((td) => getComputedStyle(td, '::before').content)).toBe('"When (UTC)"');
    await page.goto(`${rig.base}/`);
    const status = page.locator(`#job-${jobId} td[data-label=Status]`);
    expect(await status.evaluate((td) => getComputedStyle(td, '::before').content)).toBe('"Status"');

    // Destructive actions are reachable on the phone and look destructive.
    await page.goto(`${rig.base}/tokens`);
    expect(await page.locator('button.danger', { hasText: 'Revoke' }).first().isVisible()).toBe(true);
    await page.goto(`${rig.base}/settings`);
    expect(await page.locator('button.danger', { hasText: 'Restart Deckhand' }).isVisible()).toBe(true);
    await page.close();
  });

  it('on a 1366×900 screen: the nav is open with no toggle, and no page is wider than the screen', async () => {
    const page = await rig.signIn('boss');
    await page.setViewportSize({ width: 1366, height: 900 });
    await visitAll(page, 'wide');
    expect(await page.locator('header summary').isVisible()).toBe(false);
    expect(await page.locator('nav a:has-text("Audit log")').isVisible()).toBe(true);
    await page.goto(`${rig.base}/audit`);
    const cell = page.locator('table tbody tr').first().locator('td').first();
    expect(await cell.evaluate((td) => getComputedStyle(td).display)).toBe('table-cell');
    await page.close();
  });
});
