import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, type Harness, harness } from './support/app.ts';
import { answerConfirm, artifacts, type BrowserRig, browserRig, jobEnd, PASSWORD } from './support/browser.ts';
import { type Gunicorn, makeCert, scratchDir, startGunicorn } from './support/services.ts';

describe('targets and certificates in headless Chromium', () => {
  let h: Harness;
  let rig: BrowserRig;
  let gunicorn: Gunicorn;
  let dir: string;

  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    await createUser(h.database.db, 'boss', 'admin', PASSWORD);
    await createUser(h.database.db, 'watcher', 'viewer', PASSWORD);
    dir = scratchDir('ui');
    gunicorn = await startGunicorn(dir, await makeCert(dir, 'web', ['localhost']));
    const admin = await h.user('admin');
    const put = await api(h, admin, 'PUT', '/api/targets/shop', {
      manager: 'signal',
      pidfile: gunicorn.pidfile,
      match: gunicorn.match,
      healthUrl: `https://127.0.0.1:${gunicorn.port}/health`,
      healthVerifyTls: false,
    });
    expect(put.status).toBe(201);
    rig = await browserRig(h);
  });
  afterAll(async () => {
    await rig?.close();
    await gunicorn?.stop();
    await h?.close();
  });

  it('an admin restarts a target from the dashboard after confirming, and watches it succeed', async () => {
    const page = await rig.signIn('boss');
    const row = page.locator('#target-shop');
    // The worker's first sample may land after the page rendered (a busy machine): the overview
    // refreshes every 5 s, so the row must turn from unknown to running by itself.
    await expect.poll(() => row.getAttribute('data-running'), { timeout: 15_000 }).toBe('true');
    expect(await row.locator('td').nth(2).textContent()).toBe(String(gunicorn.proc.pid));
    await row.locator('button', { hasText: 'Restart' }).click();
    const asked = await answerConfirm(page, 'confirm');
    expect(asked).toEqual({ message: 'Restart shop? Clients may notice.', action: 'Restart shop', danger: false });
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    // Generous: each step spawns supervisorctl (Python), which takes seconds while the suite loads both cores.
    expect(await jobEnd(page, 60_000)).toMatchObject({ status: 'succeeded' });
    expect(await page.textContent('#job-step')).toBe('shop restarted');
    expect(await page.textContent('#output')).toMatch(/before: pid \d+ workers \[\d+ \d+\][\s\S]*after: pid/);
    await page.screenshot({ path: path.join(artifacts, 'target-restart.png'), fullPage: true });
    await page.goto(`${rig.base}/`);
    expect(await page.locator('#target-shop td').nth(4).textContent()).toContain('restart · succeeded');
    await page.screenshot({ path: path.join(artifacts, 'dashboard-targets.png'), fullPage: true });
  }, 120_000);

  it('a viewer sees the target and its status but no restart button', async () => {
    const page = await rig.signIn('watcher');
    await page.waitForSelector('#target-shop');
    expect(await page.locator('#target-shop button').count()).toBe(0);
  });

  it('an admin uploads a certificate on the certificates page and sees the expiry warning', async () => {
    const soon = await makeCert(scratchDir('ui-cert'), 'soon', ['localhost'], 7);
    const page = await rig.signIn('boss');
    await page.goto(`${rig.base}/certificates`);
    await page.fill('textarea[name=cert]', soon.certPem);
    await page.fill('textarea[name=key]', 'not a key');
    await page.click('form button[type=submit]:has-text("Upload")');
    await expect.poll(() => page.textContent('#upload-result')).toContain('the private key does not parse');
    await page.fill('textarea[name=key]', soon.keyPem);
    await page.click('form button[type=submit]:has-text("Upload")');
    await page.waitForSelector('#certificates tbody tr');
    expect(await page.textContent('#certificates')).toMatch(/expires in [67] days/);
    await page.screenshot({ path: path.join(artifacts, 'certificates.png'), fullPage: true });
  });
});
