import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { answerConfirm, artifacts, type BrowserRig, browserRig, jobEnd, PASSWORD } from './support/browser.ts';
import { type AppRepo, appTargetSpec, getText, makeAppRepo, startIncludingSupervisord } from './support/deploy-app.ts';
import { scratchDir } from './support/services.ts';

describe('deploys and rollbacks in headless Chromium', () => {
  let h: Harness;
  let rig: BrowserRig;
  let admin: TestUser;
  let repo: AppRepo;
  let sup: Awaited<ReturnType<typeof startIncludingSupervisord>>;
  let port: number;

  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    await createUser(h.database.db, 'boss', 'admin', PASSWORD);
    await createUser(h.database.db, 'watcher', 'viewer', PASSWORD);
    admin = await h.user('admin');
    const dir = scratchDir('ui-deploy');
    repo = await makeAppRepo(dir);
    sup = await startIncludingSupervisord(dir);
    const target = await appTargetSpec(dir, repo, sup);
    port = target.port;
    expect((await api(h, admin, 'PUT', '/api/targets/shop', target.spec)).status).toBe(201);
    rig = await browserRig(h);
  });
  afterAll(async () => {
    await rig?.close();
    await sup?.stop();
    await h?.close();
  });

  it('an admin deploys from the deployments page and sees each step, then rolls back with one click', async () => {
    const page = await rig.signIn('boss');
    await page.goto(`${rig.base}/deployments`);
    await page.fill('#deploy-shop input[name=ref]', 'v1');
    await page.click('#deploy-shop button:has-text("Deploy")');
    expect((await answerConfirm(page, 'confirm')).message).toBe('Deploy to shop?');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    expect(await jobEnd(page, 60_000)).toMatchObject({ status: 'succeeded' });
    const steps = await page.locator('#job-steps li').allTextContents();
    for (const step of [
      'resolving v1',
      'checking out',
      'install:',
      'migrate:',
      'switching current',
      'restarting shop',
      'health check',
      'shop is live on',
    ]) {
      expect(steps.join('\n')).toContain(step);
    }
    await page.screenshot({ path: path.join(artifacts, 'deploy-steps.png'), fullPage: true });
    expect(await getText(port)).toBe('version 1');

    const second = await api(h, admin, 'POST', '/api/jobs', { kind: 'deploy', target: 'shop', ref: 'v2' });
    await waitForStatus(h, admin, second.json.id, ['succeeded'], 60_000);
    expect(await getText(port)).toBe('version 2');

    await page.goto(`${rig.base}/deployments`);
    const history = page.locator('#deploy-shop table.history tbody tr');
    expect(await history.count()).toBe(2);
    expect(await history.first().textContent()).toContain(repo.sha.v2.slice(0, 7));
    const v1Row = page.locator(`#deploy-shop table.releases tr:has-text("${repo.sha.v1.slice(0, 7)}")`);
    await v1Row.locator('button:has-text("Roll back")').click();
    const rollback = await answerConfirm(page, 'confirm');
    expect(rollback.message).toMatch(
      /^Roll shop back to \d{14}-[0-9a-f]{7} \([0-9a-f]{7}\)\? Warning: database migrations ran since/,
    );
    expect(rollback.danger).toBe(true);
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    expect(await jobEnd(page, 60_000)).toMatchObject({ status: 'succeeded' });
    expect(await page.textContent('#output')).toContain('no fetch, install, build or migrate');
    expect(await getText(port)).toBe('version 1');
    await page.goto(`${rig.base}/deployments`);
    expect(await history.first().textContent()).toContain('rollback to');
    await page.screenshot({ path: path.join(artifacts, 'deployments.png'), fullPage: true });
  });

  it('a viewer sees the history but no deploy form and no rollback buttons', async () => {
    const page = await rig.signIn('watcher');
    await page.click('#target-shop a:has-text("deploys")'); // from the dashboard's target row
    await page.waitForURL(`${rig.base}/deployments?target=shop`);
    await page.waitForSelector('#deploy-shop table.history');
    expect(await page.locator('#deploy-shop form').count()).toBe(0);
    expect(await page.locator('#deploy-shop button').count()).toBe(0);
  });
});
