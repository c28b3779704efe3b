import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import path from 'node:path';
import { NODE_FLAGS } from '../config.ts';

const script = path.join(import.meta.dirname, 'embedded-lifeline.mjs');

export interface Lifeline {
  /** Before an orderly stop of the cluster: the lifeline goes without touching it. */
  disarm(): void;
}

/**
 * A small watcher process, in its own process group, that stops the cluster under `dataDir`
 * if this process dies without doing so. It learns of the death from its stdin (a pipe only
 * this process holds) reaching end of file.
 */
export function armLifeline(dataDir: string): Lifeline {
  const child = spawn(process.execPath, [...NODE_FLAGS, script, path.resolve(dataDir, 'pg')], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.unref();
  (child.stdin as Socket | null)?.unref();
  child.stdin?.on('error', () => {});
  return {
    disarm() {
      child.kill('SIGKILL');
    },
  };
}
