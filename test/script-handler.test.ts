import { describe, expect, it } from 'vitest';
import { JobCancelledError, JobTimeoutError, ProcessFailedError } from '../jobs/lib/errors.ts';
import type { JobContext, KindEnv } from '../jobs/lib/kind.ts';
import { execInGroup } from '../worker/exec.ts';
import script from '../worker/kinds/script.ts';
import { eventually, fixtureScripts, processAlive } from './support/app.ts';

const env = { scriptsDir: fixtureScripts } as KindEnv; // the script kind reads nothing else

/** A JobContext that keeps what the handler reports in memory: no queue, no database. */
function memoryContext(signal = new AbortController().signal, graceMs = 500) {
  const seen = { stdout: '', stderr: '', progress: [] as [number, string | null][], pids: [] as number[] };
  const ctx: JobContext = {
    jobId: 'test',
    attempt: 1,
    signal,
    progress: async (p, s = null) => void seen.progress.push([p, s]),
    output: (stream, text) => {
      seen[stream] += text;
    },
    redact: () => {},
    exec: (file, args, opts) =>
      execInGroup(file, args, {
        env: { PATH: process.env.PATH ?? '' },
        timeoutMs: opts.timeoutMs,
        graceMs,
        signal,
        onSpawn: (pid) => seen.pids.push(pid),
        onStdout: (c) => {
          for (const line of c.split('\n').filter(Boolean)) {
            const m = /^::progress (\d+) ?(.*)$/.exec(line);
            if (m) seen.progress.push([Number(m[1]), m[2] || null]);
            else seen.stdout += `${line}\n`;
          }
        },
        onStderr: (c) => {
          seen.stderr += c;
        },
      }),
  };
  return { ctx, seen };
}

const pidsIn = (text: string) => {
  const m = /pid=(\d+) child=(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : null;
};

describe('script handler (unit, no queue)', () => {
  it('runs the script with validated --name=value args and reports output and progress', async () => {
    const { ctx, seen } = memoryContext();
    const req = script.request.parse({ script: 'steps', params: { count: 3, label: 'a b; $(c)' } });
    await expect(script.run(ctx, req, env)).resolves.toEqual({ exitCode: 0 });
    expect(seen.stdout).toContain('args: --count=3 --label=a b; $(c)');
    expect(seen.stdout).toContain('line 3');
    expect(seen.stderr).toBe('to stderr\n');
    expect(seen.progress).toEqual([
      [33, 'a b; $(c) 1 of 3'],
      [66, 'a b; $(c) 2 of 3'],
      [100, 'a b; $(c) 3 of 3'],
    ]);
  });

  it('fails with the exit code when the script fails', async () => {
    const { ctx, seen } = memoryContext();
    const err = await script.run(ctx, script.request.parse({ script: 'fail' }), env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessFailedError);
    expect((err as ProcessFailedError).exitCode).toBe(3);
    expect(seen.stderr).toContain('something broke');
  });

  it('re-validates parameters when it runs, whatever was stored', async () => {
    const { ctx } = memoryContext();
    const req = script.request.parse({ script: 'steps', params: { count: 500 } });
    await expect(script.run(ctx, req, env)).rejects.toThrow(/invalid parameters/);
  });

  it('stops the whole process group at the manifest timeout', async () => {
    const { ctx, seen } = memoryContext();
    const err = await script.run(ctx, script.request.parse({ script: 'slow' }), env).catch((e) => e);
    expect(err).toBeInstanceOf(JobTimeoutError);
    expect(processAlive(seen.pids[0]!)).toBe(false);
  });

  it.each([false, true])(
    'cancel kills the leader and its children (script ignores SIGTERM: %s)',
    async (ignoreTerm) => {
      const ac = new AbortController();
      const { ctx, seen } = memoryContext(ac.signal, 300);
      const running = script.run(ctx, script.request.parse({ script: 'hang', params: { ignoreTerm } }), env);
      const [leader, child] = await eventually(async () => pidsIn(seen.stdout), 5000, 'pids');
      expect(processAlive(leader!) && processAlive(child!)).toBe(true);
      ac.abort(new JobCancelledError('cancelled by a user'));
      await expect(running).rejects.toBeInstanceOf(JobCancelledError);
      // Resolved only once the process has exited; the child went with the group.
      expect(processAlive(leader!)).toBe(false);
      await eventually(async () => !processAlive(child!), 2000, 'child exit');
    },
  );
});
