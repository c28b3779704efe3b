import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids } from '../worker/adapters/signal.ts';
import { servedFingerprint } from '../worker/tls-probe.ts';
import { api, eventually, type Harness, harness, spawnWebTier, type TestUser, waitForStatus } from './support/app.ts';
import { freePort, httpsGet, stopChild } from './support/process.ts';
import { makeCert, scratchDir } from './support/services.ts';

const root = path.resolve(import.meta.dirname, '..');

/** One HTTPS GET to the web tier, as the holder of `cookie` if given. */
const get = (port: number, urlPath: string, cookie?: string) =>
  httpsGet(port, urlPath, cookie ? { Cookie: cookie } : {});

describe('Deckhand serving TLS itself: a cert-reload of target self swaps the certificate in place', () => {
  let h: Harness;
  let admin: TestUser;
  let viewer: TestUser;
  let web: ChildProcess;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    h = await harness();
    admin = await h.user('admin');
    await h.startWorker();
    dir = scratchDir('self-tls');
    const first = await makeCert(dir, 'first', ['localhost', '127.0.0.1']);
    fs.copyFileSync(first.cert, path.join(dir, 'live.crt'));
    fs.copyFileSync(first.key, path.join(dir, 'live.key'));
    port = await freePort();
    web = spawnWebTier(h, {
      appDir: root,
      port,
      logFile: path.join(dir, 'web.log'),
      env: { DECKHAND_TLS_CERT: path.join(dir, 'live.crt'), DECKHAND_TLS_KEY: path.join(dir, 'live.key') },
    });
    await eventually(async () => (await get(port, '/healthz').catch(() => null))?.status === 200, 30_000, 'https');
    // Signed in after the web tier's cold start, which ends the sessions made before it (DESIGN §6).
    viewer = await h.user('viewer');
    const put = await api(h, admin, 'PUT', '/api/targets/deckhand', {
      manager: 'self',
      names: ['localhost'],
      tls: {
        certPath: path.join(dir, 'live.crt'),
        keyPath: path.join(dir, 'live.key'),
        reload: 'signal',
        probe: `127.0.0.1:${port}`,
        serverName: 'localhost',
      },
    });
    expect(put.status, put.text).toBe(201);
  });
  afterAll(async () => {
    if (web) await stopChild(web);
    await h.close();
  });

  /** The web processes under the supervisor, from /proc. */
  const webPids = async () =>
    (await childPids(web.pid!))
      // the web processes are the ones running dist/server/main.js
      .filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server/main.js'))
      .sort();

  it('serves the new certificate from every web process, with the same processes and every session intact', async () => {
    const next = await makeCert(dir, 'next', ['localhost', '127.0.0.1']);
    const upload = await api(h, admin, 'POST', '/api/certificates', { cert: next.certPem, key: next.keyPem });
    expect(upload.status, upload.text).toBe(201);
    const pidsBefore = await webPids();
    expect(pidsBefore).toHaveLength(2);
    expect((await get(port, '/', viewer.cookie)).status).toBe(200);

    const res = await api(h, admin, 'POST', '/api/jobs', {
      kind: 'cert-reload',
      target: 'deckhand',
      bundle: upload.json.id,
    });
    expect(res.status, res.text).toBe(202);
    const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed'], 60_000);
    expect(job.status, job.error).toBe('succeeded');

    const served = await Promise.all(
      Array.from({ length: 30 }, () => servedFingerprint('127.0.0.1', port, 'localhost')),
    );
    expect(new Set(served)).toEqual(new Set([upload.json.fingerprint]));
    expect(await webPids()).toEqual(pidsBefore); // no process was restarted
    const page = await get(port, '/', viewer.cookie);
    expect(page.status).toBe(200); // still signed in: not sent to /login
    expect(page.body).toContain(viewer.username);
    // The reload was no cold start: the web tier's own one, at its start, is the only sign-out on record.
    const coldStarts = await h.database.db.$client.query(
      "SELECT 1 FROM audit_log WHERE action = 'deckhand.cold_start'",
    );
    expect(coldStarts.rowCount).toBe(1);
  });
});
