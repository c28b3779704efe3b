import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness } from './support/app.ts';
import { artifacts, type BrowserRig, browserRig } from './support/browser.ts';

/** /api/docs renders the document with Swagger UI served from node_modules, under its strict CSP. */

let h: Harness;
let rig: BrowserRig;

beforeAll(async () => {
  h = await harness();
  rig = await browserRig(h);
});
afterAll(async () => {
  await rig?.close();
  await h?.close();
});

describe('/api/docs', () => {
  it('shows every tag and runs a GET with the session, loading nothing from elsewhere', async () => {
    const viewer = await h.user('viewer');
    const page = await rig.signIn(viewer.username);
    const foreign: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(rig.base) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    const res = await page.goto(`${rig.base}/api/docs`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByText('Deckhand API').first().waitFor();
    for (const tag of ['jobs', 'targets', 'scripts', 'users', 'tokens', 'certificates']) {
      await page.locator(`#operations-tag-${tag}`).waitFor();
    }
    // Try it out on GET /api/scripts: the browser's session signs the request in.
    await page.locator('#operations-scripts-getApiScripts').click();
    await page.getByRole('button', { name: 'Try it out' }).click();
    await page.getByRole('button', { name: 'Execute' }).click();
    await page.locator('.live-responses-table .response-col_status', { hasText: '200' }).first().waitFor();
    await page.screenshot({ path: path.join(artifacts, 'api-docs.png') });
    // Swagger UI lists what it could not resolve or parse in the document here.
    expect(await page.locator('.errors-wrapper').count()).toBe(0);
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('sends a visitor who is not signed in to the login page', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.base}/api/docs`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.close();
  });
});
