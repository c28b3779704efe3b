import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backUpConfig } from '../worker/configs/backup.ts';

describe('config backups in the state directory', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('are private (0700 directories, 0600 files), never replace one another, and the oldest go past 50', async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-state-'));
    dirs.push(state);
    const dir = path.join(state, 'config-backups', 'edge');
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 50; i++) {
      const f = path.join(dir, `old-${String(i).padStart(2, '0')}-app.conf`);
      fs.writeFileSync(f, `old ${i}`);
      fs.utimesSync(f, 1_000_000 + i, 1_000_000 + i);
    }
    const copy = await backUpConfig(state, 'edge', 'job-1', '/etc/nginx/conf.d/app.conf', 'live text');
    expect(copy).toBe(path.join(dir, 'job-1-app.conf'));
    expect(fs.readFileSync(copy, 'utf8')).toBe('live text');
    expect(fs.statSync(copy).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(state, 'config-backups')).mode & 0o777).toBe(0o700);
    const left = fs.readdirSync(dir);
    expect(left).toHaveLength(50);
    expect(left).not.toContain('old-00-app.conf');
    expect(left).toContain('old-01-app.conf');
    await expect(backUpConfig(state, 'edge', 'job-1', '/etc/nginx/conf.d/app.conf', 'again')).rejects.toThrow(/EEXIST/);
  });
});
