import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, type Harness, harness, waitForStatus } from './support/app.ts';
import { artifacts, type BrowserRig, browserRig, PASSWORD } from './support/browser.ts';

describe('the job page in headless Chromium: its title, the time on hover, Run again', () => {
  let h: Harness;
  let rig: BrowserRig;

  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    await createUser(h.database.db, 'ops', 'operator', PASSWORD);
    rig = await browserRig(h);
  });
  afterAll(async () => {
    await rig?.close();
    await h?.close();
  });

  it('a finished script job is titled by what it did, shows exact UTC times on hover, and runs again', async () => {
    const page = await rig.signIn('ops');
    const csrf = await page.evaluate(() => JSON.parse(document.body.getAttribute('hx-headers:inherited') ?? '{}'));
    const started = await page.request.post(`${rig.base}/api/jobs`, {
      headers: { 'X-CSRF-Token': csrf['X-CSRF-Token'], Origin: rig.base, 'Content-Type': 'application/json' },
      data: { kind: 'script', script: 'steps', params: { count: 2, label: 'tick' } },
    });
    expect(started.status()).toBe(202);
    const { id } = (await started.json()) as { id: string };
    const owner = await h.user('admin');
    await waitForStatus(h, owner, id, ['succeeded']);

    await page.goto(`${rig.base}/jobs/${id}`);
    expect(await page.title()).toBe('Script steps · Deckhand');
    expect(await page.locator('h1').textContent()).toBe('Script steps');
    const created = page.locator('dd time').first();
    await created.hover();
    const at = (await created.getAttribute('datetime'))!;
    expect(await created.getAttribute('title')).toBe(`${at.replace('T', ' ').slice(0, 19)} UTC`);
    expect(await created.textContent()).toMatch(/^(just now|\d+ s ago)$/);
    await expect.poll(() => page.locator('#job-duration').count()).toBe(1);
    await page.screenshot({ path: path.join(artifacts, 'job-page.png'), fullPage: true });

    await page.getByRole('button', { name: 'Run again' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/jobs/') && !u.pathname.endsWith(id));
    expect(await page.title()).toBe('Script steps · Deckhand');
    expect(await page.locator(`a[href="/jobs/${id}"]`).count()).toBe(1);
    const again = (await api(h, owner, 'GET', `/api/jobs/${new URL(page.url()).pathname.split('/')[2]}`)).json;
    expect(again).toMatchObject({ retryOf: id, script: 'steps', params: { count: 2, label: 'tick' } });
  });
});
