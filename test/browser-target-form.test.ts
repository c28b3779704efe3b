import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, type Harness, harness, type TestUser } from './support/app.ts';
import { answerConfirm, artifacts, type BrowserRig, browserRig, PASSWORD } from './support/browser.ts';

describe('the target form in headless Chromium', () => {
  let h: Harness;
  let rig: BrowserRig;
  let admin: TestUser;

  beforeAll(async () => {
    h = await harness();
    await createUser(h.database.db, 'boss', 'admin', PASSWORD);
    admin = await h.user('admin');
    rig = await browserRig(h);
  });
  afterAll(async () => {
    await rig?.close();
    await h?.close();
  });

  const fits = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  it('creates a signal target through the form: the manager switch swaps its fields, a bad one is named beside its field', async () => {
    const page = await rig.signIn('boss');
    await page.goto(`${rig.base}/targets`);
    await page.click('a:has-text("New target")');
    await page.waitForURL(`${rig.base}/targets/new`);
    expect(await page.locator('#manager-fields input[name=unit]').count()).toBe(1);
    await page.selectOption('select[name=manager]', 'signal');
    await page.waitForSelector('#manager-fields[data-manager=signal] input[name=pidfile]');
    expect(await page.locator('input[name=unit]').count()).toBe(0);

    await page.fill('input[name=name]', 'api');
    await page.fill('input[name=pidfile]', 'run/api.pid');
    await page.fill('input[name="match.cmdline"]', 'gunicorn');
    await page.click('#section-health summary');
    await page.fill('input[name=healthUrl]', 'http://127.0.0.1:8000/health');
    await page.click('#section-env summary');
    await page.fill('#env-rows input[name="env.name"]', 'API_TOKEN');
    await page.fill('#env-rows input[name="env.value"]', 'tok-123-secret');
    await page.click('button:has-text("Create target")');

    const error = page.locator('[data-error-for=pidfile]');
    await error.waitFor();
    expect(await error.textContent()).toBe('must be an absolute path');
    // Beside its field: inside the pidfile's own label, and the field says it is invalid.
    expect(await page.locator('label:has(input[name=pidfile]) [data-error-for=pidfile]').count()).toBe(1);
    expect(await page.getAttribute('input[name=pidfile]', 'aria-invalid')).toBe('true');
    expect(await page.inputValue('input[name="match.cmdline"]')).toBe('gunicorn');
    await page.screenshot({ path: path.join(artifacts, 'target-form-error.png'), fullPage: true });

    await page.fill('input[name=pidfile]', '/tmp/api.pid');
    await page.fill('#env-rows input[name="env.value"]', 'tok-123-secret');
    await page.click('button:has-text("Create target")');
    await page.waitForURL(`${rig.base}/targets/api`);
    const got = await api(h, admin, 'GET', '/api/targets/api');
    expect(got.json).toMatchObject({
      manager: 'signal',
      pidfile: '/tmp/api.pid',
      signal: 'SIGHUP',
      match: { cmdline: 'gunicorn' },
      healthUrl: 'http://127.0.0.1:8000/health',
      env: { API_TOKEN: '[secret]' },
    });
  });

  it('edits the target: pre-filled, its secret shown only as "set", a change saved', async () => {
    const page = await rig.signIn('boss');
    await page.goto(`${rig.base}/targets/api`);
    await page.click('#target-admin a:has-text("Edit")');
    await page.waitForURL(`${rig.base}/targets/api/edit`);
    expect(await page.inputValue('input[name=pidfile]')).toBe('/tmp/api.pid');
    expect(await page.getAttribute('input[name=name]', 'readonly')).not.toBeNull();
    expect(await page.locator('#section-env').getAttribute('open')).not.toBeNull();
    expect(await page.inputValue('#env-rows input[name="env.value"] >> nth=0')).toBe('');
    expect(await page.textContent('#env-rows')).toContain('set');
    expect(await page.content()).not.toContain('tok-123-secret');
    await page.selectOption('select[name=signal]', 'SIGUSR2');
    await page.click('button:has-text("Save changes")');
    await page.waitForURL(`${rig.base}/targets/api`);
    const got = await api(h, admin, 'GET', '/api/targets/api');
    expect(got.json).toMatchObject({ signal: 'SIGUSR2', env: { API_TOKEN: '[secret]' } });
  });

  it('deletes the target only once its name is typed in the dialog', async () => {
    const page = await rig.signIn('boss');
    await page.goto(`${rig.base}/targets/api`);
    const del = page.locator('button:has-text("Delete target")');
    expect(await del.getAttribute('class')).toContain('danger');
    await del.click();
    const ok = page.locator('dialog#confirm-dialog[open] #confirm-ok');
    await ok.waitFor();
    await page.fill('dialog#confirm-dialog input[name=typed]', 'ap');
    expect(await ok.isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(artifacts, 'target-delete-dialog.png') });
    const asked = await answerConfirm(page, 'confirm', 'api');
    expect(asked).toMatchObject({ action: 'Delete api', danger: true });
    expect(asked.message).toMatch(/^Delete target api\? Its settings and secrets are removed/);
    await page.waitForURL(`${rig.base}/targets`);
    expect((await api(h, admin, 'GET', '/api/targets/api')).status).toBe(404);
  });

  it('going back from the dialog leaves the target alone', async () => {
    const put = await api(h, admin, 'PUT', '/api/targets/keep', { manager: 'systemd', unit: 'keep.service' });
    expect(put.status).toBe(201);
    const page = await rig.signIn('boss');
    await page.goto(`${rig.base}/targets/keep`);
    await page.click('button:has-text("Delete target")');
    await answerConfirm(page, 'back', 'keep');
    expect(page.url()).toBe(`${rig.base}/targets/keep`);
    expect((await api(h, admin, 'GET', '/api/targets/keep')).status).toBe(200);
  });

  it('force-releases a stuck lock from the target page after a red confirmation, audited', async () => {
    const job = await api(h, admin, 'POST', '/api/jobs', { kind: 'script', script: 'steps', params: { count: 1 } });
    expect(job.status).toBe(202);
    await h.database.db.execute(sql`INSERT INTO target_locks (target, job_id) VALUES ('keep', ${job.json.id})`);
    const page = await rig.signIn('boss');
    await page.goto(`${rig.base}/targets/keep`);
    await page.click('button:has-text("Force-release lock")');
    const asked = await answerConfirm(page, 'confirm');
    expect(asked).toMatchObject({ action: 'Release the lock', danger: true });
    expect(asked.message).toContain(`Job ${job.json.id.slice(0, 8)} (script) holds it`);
    await expect.poll(() => page.locator('button:has-text("Force-release lock")').count()).toBe(0);
    const audit = await h.database.db.execute(
      sql`SELECT actor, details FROM audit_log WHERE action = 'target.lock.force_release' AND subject = 'keep'`,
    );
    expect(audit.rows).toEqual([{ actor: 'boss', details: { heldBy: job.json.id } }]);
  });

  it('Restart Deckhand asks for the typed word; going back restarts nothing', async () => {
    const page = await rig.signIn('boss');
    await page.goto(`${rig.base}/settings`);
    await page.click('#restart-card button:has-text("Restart Deckhand")');
    const ok = page.locator('dialog#confirm-dialog[open] #confirm-ok');
    await ok.waitFor();
    expect(await ok.isDisabled()).toBe(true);
    expect(await page.textContent('dialog#confirm-dialog #confirm-typed')).toContain('Type restart to confirm');
    await page.fill('dialog#confirm-dialog input[name=typed]', 'Restart');
    expect(await ok.isDisabled()).toBe(true);
    await page.fill('dialog#confirm-dialog input[name=typed]', 'restart');
    expect(await ok.isDisabled()).toBe(false);
    expect((await answerConfirm(page, 'back')).action).toBe('Restart Deckhand');
    const state = await api(h, admin, 'GET', '/api/system/restart');
    expect(state.json.startedAt ?? null).toBeNull();
  });

  it('on a 390 px phone the form, the import page and the dialog fit the screen', async () => {
    const page = await rig.signIn('boss');
    await page.setViewportSize({ width: 390, height: 844 });
    for (const url of [
      '/targets',
      '/targets/new',
      '/targets/keep/edit',
      '/targets/keep/duplicate',
      '/targets/import',
    ]) {
      await page.goto(`${rig.base}${url}`);
      for (const d of await page.locator('#target-form details').all())
        await d.evaluate((e) => e.setAttribute('open', ''));
      expect(await fits(page), url).toBe(true);
    }
    await page.goto(`${rig.base}/targets/keep/edit`);
    await page.screenshot({ path: path.join(artifacts, 'target-form-phone.png'), fullPage: true });
    await page.goto(`${rig.base}/targets/keep`);
    await page.click('button:has-text("Delete target")');
    await page.locator('dialog#confirm-dialog[open]').waitFor();
    expect(await fits(page)).toBe(true);
    const box = await page.locator('dialog#confirm-dialog').boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(artifacts, 'confirm-dialog-phone.png') });
    await answerConfirm(page, 'back');
  });
});
