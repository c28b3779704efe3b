import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { type Harness, harness } from './support/app.ts';
import { answerConfirm, artifacts, type BrowserRig, browserRig, jobEnd, PASSWORD } from './support/browser.ts';

describe('the web UI in headless Chromium', () => {
  let h: Harness;
  let rig: BrowserRig;
  let base: string;
  const signIn = (username: string) => rig.signIn(username);

  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    await createUser(h.database.db, 'ops', 'operator', PASSWORD);
    await createUser(h.database.db, 'watcher', 'viewer', PASSWORD);
    rig = await browserRig(h);
    base = rig.base;
  });
  afterAll(async () => {
    await rig?.close();
    await h?.close();
  });

  it('signs in, runs a script from its generated form and follows it live to success', async () => {
    const page = await signIn('ops');
    await page.click('a[href="/scripts"]');
    const form = page.locator('form[data-script=steps]');
    await form.locator('input[name=count]').fill('20');
    await form.locator('input[name=label]').fill('phase');
    await form.locator('button[type=submit]').click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);

    // The script takes about 2 s: the page shows it unfinished, then polling brings it to succeeded.
    expect(await page.locator('#job-live').getAttribute('data-status')).toMatch(/queued|active/);
    await page.evaluate(() => {
      const w = window as unknown as { seen: number[] };
      w.seen = [];
      setInterval(() => w.seen.push(Number(document.querySelector('#job-progress')?.getAttribute('value'))), 50);
    });
    expect(await jobEnd(page, 20_000)).toMatchObject({ status: 'succeeded' });
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    expect(seen.some((p) => p > 0 && p < 100)).toBe(true); // it climbed, live
    expect(await page.locator('#job-progress').getAttribute('value')).toBe('100');
    expect(await page.textContent('#job-step')).toBe('phase 20 of 20');
    expect(await page.textContent('#output')).toContain('line 20');
    expect(await page.locator('button', { hasText: 'Run again' }).count()).toBe(1); // a succeeded job runs again
    expect(await page.locator('button', { hasText: 'Cancel' }).count()).toBe(0);
    await page.screenshot({ path: path.join(artifacts, 'script-run.png'), fullPage: true });

    // Polling stopped once the job was terminal.
    const polls: string[] = [];
    page.on('request', (r) => polls.push(r.url()));
    await page.waitForTimeout(2500);
    expect(polls.filter((u) => u.includes('/live'))).toEqual([]);

    // The dashboard lists it, newest first.
    await page.goto(`${base}/`);
    const first = page.locator('#job-rows tr').first();
    expect(await first.getAttribute('data-status')).toBe('succeeded');
    await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
  });

  it('shows jobs started elsewhere on the open dashboard, and updates their rows', async () => {
    const page = await signIn('ops');
    const other = await h.user('operator');
    const res = await h.app.request('/api/jobs', {
      method: 'POST',
      headers: { Authorization: `Bearer ${other.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'script', script: 'steps', params: { count: 10 } }),
    });
    const { id } = (await res.json()) as { id: string };
    await page.waitForSelector(`#job-${id}`, { timeout: 10_000 });
    await page.waitForSelector(`#job-${id}[data-status=succeeded]`, { timeout: 20_000 });
    expect(await page.locator(`#job-${id} td`).nth(5).textContent()).toBe(other.username);
  });

  it('cancels a running script from its page', async () => {
    const page = await signIn('ops');
    await page.goto(`${base}/scripts`);
    await page.locator('form[data-script=hang] button[type=submit]').click();
    await page.waitForSelector('#job-live[data-status=active]', { timeout: 15_000 });
    await page.locator('button', { hasText: 'Cancel' }).click();
    expect((await answerConfirm(page, 'confirm')).message).toBe('Cancel this job? Its process is stopped.');
    await page.waitForSelector('#job-live[data-status=cancelled]', { timeout: 20_000 });
    await page.locator('button', { hasText: 'Retry' }).click();
    await page.waitForSelector('#job-live[data-status=active]', { timeout: 15_000 });
    await page.locator('button', { hasText: 'Cancel' }).click();
    await answerConfirm(page, 'confirm');
    await page.waitForSelector('#job-live[data-status=cancelled]', { timeout: 20_000 });
  });

  it('shows a readable error for bad form input, and viewers get no run buttons', async () => {
    const page = await signIn('ops');
    await page.goto(`${base}/scripts`);
    const form = page.locator('form[data-script=steps]');
    await form.locator('input[name=count]').evaluate((el: HTMLInputElement) => {
      el.removeAttribute('max'); // bypass the browser's own check to reach the server's
      el.value = '99';
    });
    await form.locator('button[type=submit]').click();
    await expect.poll(() => form.locator('.error').textContent()).toContain('count');

    const viewer = await signIn('watcher');
    await viewer.goto(`${base}/scripts`);
    expect(await viewer.locator('form button[type=submit]').count()).toBe(0);
  });
});
