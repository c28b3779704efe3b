import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, ensureInitialAdmin } from '../server/auth/accounts.ts';
import { api, type Harness, harness } from './support/app.ts';
import { answerConfirm, artifacts, type BrowserRig, browserRig, PASSWORD } from './support/browser.ts';

describe('users, tokens and the one-time password in headless Chromium', () => {
  let h: Harness;
  let rig: BrowserRig;
  let dataDir: string;
  let oneTime: string;
  const chosen = 'the admin chose this one';

  beforeAll(async () => {
    h = await harness();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-ui-admin-'));
    oneTime = (await ensureInitialAdmin(h.database.db, dataDir))!;
    await createUser(h.database.db, 'walt', 'viewer', PASSWORD);
    rig = await browserRig(h);
  });
  afterAll(async () => {
    await rig?.close();
    await h?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the initial admin must choose a password before anything else, then manages users', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.base}/login`);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', oneTime);
    await page.click('button[type=submit]');
    await page.waitForURL(`${rig.base}/account/password`);
    await page.goto(`${rig.base}/targets`);
    await page.waitForURL(`${rig.base}/account/password`);
    expect(await page.textContent('main')).toContain('one-time password');
    await page.fill('input[name=currentPassword]', oneTime);
    await page.fill('input[name=newPassword]', chosen);
    await page.fill('input[name=confirmPassword]', chosen);
    await page.click('button[type=submit]');
    await page.waitForURL(`${rig.base}/`);

    await page.goto(`${rig.base}/users`);
    const walt = page.locator('tr[data-user=walt]');
    await walt.locator('select[name=role]').selectOption('operator');
    await walt.locator('button', { hasText: 'Set role' }).click();
    expect((await answerConfirm(page, 'confirm')).message).toBe('Change the role of walt? Their other sessions end.');
    await expect
      .poll(async () => await page.locator('tr[data-user=walt] select[name=role]').inputValue())
      .toBe('operator');
    await page.locator('tr[data-user=walt] button', { hasText: 'Disable' }).click();
    expect(await answerConfirm(page, 'confirm')).toEqual({
      message: 'Disable walt? All their sessions end.',
      action: 'Disable walt',
      danger: true,
    });
    await expect.poll(async () => page.locator('tr[data-user=walt] td').nth(2).textContent()).toBe('disabled');
    await page.screenshot({ path: path.join(artifacts, 'users.png'), fullPage: true });
    const admin = await h.user('admin');
    const users = (await api(h, admin, 'GET', '/api/users')).json.items;
    expect(users).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ username: 'walt', role: 'operator', disabled: true }),
        expect.objectContaining({ username: 'admin', mustChangePassword: false }),
      ]),
    );
    await page.close();
  });

  it('anyone makes a token, sees it once, and revokes it', async () => {
    await createUser(h.database.db, 'vera', 'viewer', PASSWORD);
    const page = await rig.signIn('vera');
    await page.goto(`${rig.base}/tokens`);
    await page.fill('input[name=expiresInDays]', '7');
    await page.click('button:has-text("Create token")');
    const token = (await page.locator('#new-token code.token').textContent())!;
    expect(token).toMatch(/^dh_[a-z2-7]+\.[a-z2-7]+$/);
    const asVera = { id: '', username: 'vera', token, cookie: '', csrfToken: '' };
    expect((await api(h, asVera, 'GET', '/api/jobs')).status).toBe(200);
    await page.reload();
    const id = token.slice(3, 11);
    const row = page.locator('tr', { hasText: id });
    expect(await row.locator('td').nth(4).textContent()).not.toBe('never');
    await row.locator('button', { hasText: 'Revoke' }).click();
    expect((await answerConfirm(page, 'confirm')).danger).toBe(true);
    await expect
      .poll(async () => page.locator('tr', { hasText: id }).locator('td').nth(5).textContent())
      .toMatch(/^revoked/);
    expect((await api(h, asVera, 'GET', '/api/jobs')).status).toBe(401);
    await page.screenshot({ path: path.join(artifacts, 'tokens.png'), fullPage: true });
    await page.close();
  });
});
