import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { eventually, type Harness, harness } from './support/app.ts';
import { answerConfirm, artifacts, type BrowserRig, browserRig, PASSWORD } from './support/browser.ts';
import { type HttpReceiver, httpReceiver } from './support/receivers.ts';

describe('the Notifications page in headless Chromium, on a phone', () => {
  let h: Harness;
  let rig: BrowserRig;
  let hooks: HttpReceiver;

  beforeAll(async () => {
    hooks = await httpReceiver();
    h = await harness();
    await h.startWorker();
    await createUser(h.database.db, 'nora', 'admin', PASSWORD);
    rig = await browserRig(h);
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
    await h?.close();
    await hooks?.close();
  });

  it('adds a webhook (secret shown once), a rule, sends a test, deletes the rule; nothing overflows', async () => {
    const page = await rig.signIn('nora');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${rig.base}/notifications`);
    const url = `http://127.0.0.1:${hooks.port}/hook/page-secret-path`;
    const form = page.locator('form[hx-post="/ui/notifications/channels"]');
    await form.locator('input[name=name]').fill('phone-hook');
    await form.locator('select[name=type]').selectOption('webhook');
    await form.locator('input[name=url]').fill(url);
    await form.locator('button[type=submit]').click();
    const secret = (await page.locator('#new-channel code.token').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);

    await page.reload();
    const row = page.locator('tr[data-channel=phone-hook]');
    expect(await row.textContent()).toContain(`http://127.0.0.1:${hooks.port}/…`);
    const html = await page.content();
    expect(html).not.toContain('page-secret-path');
    expect(html).not.toContain(secret);

    const ruleForm = page.locator('form[hx-post="/ui/notifications/rules"]');
    await ruleForm.locator('input[name=name]').fill('phone-rule');
    await ruleForm.locator('input[name=events][value="job.failed"]').check();
    await ruleForm.locator('input[name=events][value="deploy.rolled_back"]').check();
    await ruleForm.locator('button[type=submit]').click();
    await page.locator('tr[data-rule=phone-rule]').waitFor();
    expect(await page.locator('tr[data-rule=phone-rule]').textContent()).toContain('job.failed, deploy.rolled_back');

    await row.locator('button', { hasText: 'Send a test' }).click();
    await page.locator('#channels-error [role=status]').waitFor();
    const test = await eventually(async () => hooks.requests.find((r) => r.path === '/hook/page-secret-path'));
    expect(JSON.parse(test.body)).toMatchObject({
      event: 'test',
      summary: 'Test notification from Deckhand to phone-hook',
    });

    const fits = () =>
      page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    const phone = await fits();
    expect(phone.scroll).toBeLessThanOrEqual(phone.inner);
    await page.screenshot({ path: path.join(artifacts, 'notifications-390.png'), fullPage: true });

    await page.locator('tr[data-rule=phone-rule] button', { hasText: 'Delete' }).click();
    expect((await answerConfirm(page, 'confirm')).action).toBe('Delete phone-rule');
    await page.locator('tr[data-rule=phone-rule]').waitFor({ state: 'detached' });

    await page.setViewportSize({ width: 1366, height: 900 });
    await page.reload();
    const wide = await fits();
    expect(wide.scroll).toBeLessThanOrEqual(wide.inner);
    expect(await page.locator('nav a[aria-current=page]').textContent()).toBe('Notifications');
    await page.screenshot({ path: path.join(artifacts, 'notifications-1366.png'), fullPage: true });
  });
});
