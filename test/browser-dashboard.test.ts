import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, type Harness, harness } from './support/app.ts';
import { answerConfirm, artifacts, type BrowserRig, browserRig, jobEnd, PASSWORD } from './support/browser.ts';
import { scratchDir, startSupervisordPrograms } from './support/services.ts';

const run = promisify(execFile);

describe('the dashboard in headless Chromium: host card, status by polling, Start and Stop', () => {
  let h: Harness;
  let rig: BrowserRig;
  let sup: Awaited<ReturnType<typeof startSupervisordPrograms>>;
  let dir: string;

  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    await createUser(h.database.db, 'boss', 'admin', PASSWORD);
    dir = scratchDir('ui-dash');
    sup = await startSupervisordPrograms(dir, ['web', 'idle'], ['idle']);
    const admin = await h.user('admin');
    for (const name of ['web', 'idle']) {
      const put = await api(h, admin, 'PUT', `/api/targets/${name}`, {
        manager: 'supervisor',
        program: name,
        configPath: sup.config,
      });
      expect(put.status).toBe(201);
    }
    rig = await browserRig(h);
  });
  afterAll(async () => {
    await rig?.close();
    await sup?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const buttonsOf = async (row: ReturnType<Awaited<ReturnType<BrowserRig['signIn']>>['locator']>) =>
    (await row.locator('button').allTextContents()).map((t) => t.trim());

  it('a stopped supervisor target shows Start; clicking it starts it and its row turns running', async () => {
    const page = await rig.signIn('boss');
    await page.waitForSelector(`#host-${h.config.DECKHAND_HOST_NAME}[data-serving=true]`, { timeout: 15_000 });
    const idle = page.locator('#target-idle');
    await expect.poll(() => idle.getAttribute('data-running'), { timeout: 15_000 }).toBe('false');
    expect(await buttonsOf(idle)).toEqual(['Start']);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-host.png'), fullPage: true });

    await idle.locator('button', { hasText: 'Start' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    // Generous: each step spawns supervisorctl (Python), which takes seconds while the suite loads both cores.
    expect(await jobEnd(page, 60_000)).toMatchObject({ status: 'succeeded' });
    const pid = Number((await run('supervisorctl', ['-c', sup.config, 'pid', 'idle'])).stdout.trim());
    expect(pid).toBeGreaterThan(0);

    await page.goto(`${rig.base}/`);
    const row = page.locator('#target-idle');
    await expect.poll(() => row.getAttribute('data-running'), { timeout: 15_000 }).toBe('true');
    expect(await row.locator('td').nth(2).textContent()).toBe(String(pid));
    expect(await buttonsOf(row)).toEqual(['Restart', 'Reload', 'Stop']);
  }, 120_000);

  it('the overview polls: a program stopped out of band turns stopped without a reload; Stop asks, naming the target', async () => {
    const page = await rig.signIn('boss');
    const web = page.locator('#target-web');
    await expect.poll(() => web.getAttribute('data-running'), { timeout: 15_000 }).toBe('true');
    const stop = web.locator('button', { hasText: 'Stop' });
    expect(await stop.getAttribute('class')).toContain('danger');
    await stop.click();
    expect(await answerConfirm(page, 'back')).toEqual({
      message: 'Stop web? It stays stopped until someone starts it.',
      action: 'Stop web',
      danger: true,
    });
    expect(page.url()).toBe(`${rig.base}/`);

    await run('supervisorctl', ['-c', sup.config, 'stop', 'web']);
    await expect
      .poll(() => page.locator('#target-web').getAttribute('data-running'), { timeout: 20_000 })
      .toBe('false');
    expect(await buttonsOf(page.locator('#target-web'))).toEqual(['Start']);
    const jobs = await api(h, await h.user('admin'), 'GET', '/api/jobs?target=web');
    expect(jobs.json.items).toEqual([]);
  });
});
