import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Harness } from './app.ts';

export const artifacts = path.resolve(import.meta.dirname, '../artifacts');
export const PASSWORD = 'correct horse battery staple';

export interface BrowserRig {
  base: string;
  browser: Browser;
  signIn(username: string): Promise<Page>;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with the flags this machine needs. */
export function launchChromium(): Promise<Browser> {
  fs.mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Signs in through the login form of the Deckhand at `base`; resolves on the dashboard. */
export async function signIn(browser: Browser, base: string, username: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  return page;
}

/** Serves the harness's app over real HTTP and drives Debian's Chromium at it. */
export async function browserRig(h: Harness): Promise<BrowserRig> {
  const server: ServerType = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  return {
    base,
    browser,
    signIn: (username) => signIn(browser, base, username),
    async close() {
      await browser.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Answers the page's confirmation <dialog> (views/confirm.tsx) as a user would: waits for it to
 * open, types the word it asks for (if given), then presses its confirm or its Go back button.
 * Returns what it said and its confirm button's words.
 */
export async function answerConfirm(
  page: Page,
  answer: 'confirm' | 'back',
  typed?: string,
): Promise<{ message: string; action: string; danger: boolean }> {
  const dialog = page.locator('dialog#confirm-dialog[open]');
  await dialog.waitFor();
  const message = (await dialog.locator('#confirm-message').textContent()) ?? '';
  const ok = dialog.locator('#confirm-ok');
  const action = (await ok.textContent()) ?? '';
  const danger = await ok.evaluate((b) => b.classList.contains('danger'));
  if (typed !== undefined) await dialog.locator('input[name=typed]').fill(typed);
  await (answer === 'confirm' ? ok : dialog.locator('#confirm-cancel')).click();
  await page.locator('dialog#confirm-dialog').waitFor({ state: 'hidden' });
  return { message, action, danger };
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'lost'];

/**
 * Waits on a job page until the job has ended, whichever way, or the timeout, and returns the status
 * shown with the page's output: a job that failed or hangs fails the caller's assertion with what
 * it printed, instead of a bare selector timeout.
 */
export async function jobEnd(page: Page, timeout: number): Promise<{ status: string; output: string }> {
  const ended = TERMINAL.map((s) => `#job-live[data-status=${s}]`).join(', ');
  await page.waitForSelector(ended, { timeout }).catch(() => {});
  const status = (await page.getAttribute('#job-live', 'data-status')) ?? '';
  const output =
    (await page
      .locator('#output')
      .textContent()
      .catch(() => null)) ?? '';
  return { status, output };
}
