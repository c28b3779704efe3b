import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, eventually, type Harness, harness } from './support/app.ts';
import { answerConfirm, artifacts, type BrowserRig, browserRig, PASSWORD } from './support/browser.ts';

describe('the Schedules page in headless Chromium', () => {
  let h: Harness;
  let rig: BrowserRig;

  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    await createUser(h.database.db, 'olga', 'operator', PASSWORD);
    rig = await browserRig(h);
  });
  afterAll(async () => {
    await rig?.close();
    await h?.close();
  });

  it('creates a schedule from the form, shows it fire a job that succeeds, and deletes it', async () => {
    const page = await rig.signIn('olga');
    await page.click('nav a:has-text("Schedules")');
    await page.waitForURL(`${rig.base}/schedules`);
    // A mistake is shown in the form, and nothing is created.
    await page.fill('input[name=cron]', '61 * * * *');
    await page.click('button:has-text("Create schedule")');
    await page.locator('#new-schedule-error [role=alert]').waitFor();
    expect(await page.textContent('#new-schedule-error')).toContain('cron');
    await page.fill('input[name=cron]', '* * * * * *');
    await page.selectOption('select[name=kind]', 'script');
    await page.selectOption('select[name=script]', 'steps');
    await page.fill('input[name=params]', '{"count":1}');
    await page.click('button:has-text("Create schedule")');
    const card = page.locator('section[data-schedule]', { hasText: 'Script steps' });
    await card.waitFor();
    expect(await card.textContent()).toContain('owner olga');
    // The page shows the runs as they come: reload until one has succeeded, then open its job.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('section[data-schedule] li[data-run-status=succeeded] a').count();
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBeGreaterThan(0);
    await page.screenshot({ path: path.join(artifacts, 'schedules.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(fits, 'the Schedules page fits a 390 px phone').toBe(true);
    await page.screenshot({ path: path.join(artifacts, 'schedules-phone.png'), fullPage: true });
    await page.locator('section[data-schedule] li[data-run-status=succeeded] a').first().click();
    await page.waitForURL(/\/jobs\//);
    const jobId = page.url().split('/jobs/')[1]!;
    const admin = await h.user('admin');
    const job = (await api(h, admin, 'GET', `/api/jobs/${jobId}`)).json;
    expect(job).toMatchObject({ kind: 'script', script: 'steps', status: 'succeeded', requestedBy: 'olga' });

    await page.goto(`${rig.base}/schedules`);
    await page.click('section[data-schedule] button:has-text("Pause")');
    await page.locator('section[data-schedule] button:has-text("Resume")').waitFor();
    expect(await page.textContent('section[data-schedule] [data-state]')).toBe('paused');
    await page.click('section[data-schedule] button:has-text("Delete")');
    expect((await answerConfirm(page, 'confirm')).danger).toBe(true);
    await page.locator('text=No schedules yet.').waitFor();
    await eventually(async () => (await h.producer.queue.getJobSchedulersCount()) === 0, 5000, 'no scheduler left');
    await page.close();
  });
});
