import { describe, expect, it } from 'vitest';
import { JobValidationError } from '../jobs/lib/errors.ts';
import { buildArgv, listScripts, loadScript, manifestSchema, validateParams } from '../jobs/lib/manifest.ts';
import { fixtureScripts } from './support/app.ts';

const shipped = new URL('../worker/scripts', import.meta.url).pathname;

describe('script manifests (unit, no queue)', () => {
  it('lists only scripts that have a valid manifest and an executable', async () => {
    const names = (await listScripts(fixtureScripts)).map((s) => s.name);
    expect(names).toEqual(['fail', 'hang', 'noisy', 'slow', 'steps']);
    expect(names).not.toContain('orphan'); // manifest, no executable
    expect(names).not.toContain('unlisted'); // executable, no manifest
  });

  it('ships the four troubleshooting scripts with valid manifests', async () => {
    const names = (await listScripts(shipped)).map((s) => s.name);
    expect(names).toEqual(['cert-expiry', 'disk-usage', 'log-grep', 'service-status']);
  });

  it.each(['../etc/passwd', 'a/b', '.hidden', 'UPPER', '', 'x'.repeat(65), 'steps.sh'])(
    'refuses the script name %j',
    async (name) => {
      await expect(loadScript(fixtureScripts, name)).rejects.toBeInstanceOf(JobValidationError);
    },
  );

  it('refuses an unknown script and a manifest without executable', async () => {
    await expect(loadScript(fixtureScripts, 'nope')).rejects.toThrow(/unknown script/);
    await expect(loadScript(fixtureScripts, 'orphan')).rejects.toThrow(/no executable/);
  });

  it('validates parameters: types, ranges, enums, unknown names, defaults', async () => {
    const disk = await loadScript(shipped, 'disk-usage');
    expect(validateParams(disk, { path: '/var' })).toEqual({ path: '/var', depth: 1, top: 20 });
    expect(validateParams(disk, { path: '/var', depth: '2' })).toMatchObject({ depth: 2 });
    expect(() => validateParams(disk, {})).toThrow(JobValidationError);
    expect(() => validateParams(disk, { path: '/etc' })).toThrow(/invalid parameters/);
    expect(() => validateParams(disk, { path: '/var', depth: 9 })).toThrow(JobValidationError);
    expect(() => validateParams(disk, { path: '/var', depth: 1.5 })).toThrow(JobValidationError);
    expect(() => validateParams(disk, { path: '/var', extra: 1 })).toThrow(JobValidationError);
  });

  it('anchors string patterns and refuses control characters', async () => {
    const status = await loadScript(shipped, 'service-status');
    expect(validateParams(status, { service: 'nginx.service' })).toEqual({ service: 'nginx.service' });
    for (const bad of ['nginx; rm -rf /', '-x', 'a\nb', 'ok\u0000', '$(id)']) {
      expect(() => validateParams(status, { service: bad }), bad).toThrow(JobValidationError);
    }
  });

  it('builds --name=value argv in manifest order, with no shell quoting needed', async () => {
    const grep = await loadScript(shipped, 'log-grep');
    const params = validateParams(grep, { pattern: `it's "quoted" $(x) ; | >`, log: '/var/log/syslog' });
    expect(buildArgv(grep.manifest, params)).toEqual([
      '--log=/var/log/syslog',
      `--pattern=it's "quoted" $(x) ; | >`,
      '--lines=200',
      '--ignoreCase=false',
    ]);
  });

  it('holds a string parameter to its minLength, and a manifest to minLength <= maxLength', async () => {
    const grep = await loadScript(shipped, 'log-grep');
    expect(() => validateParams(grep, { log: '/var/log/syslog', pattern: 'ab' })).toThrow(JobValidationError);
    expect(validateParams(grep, { log: '/var/log/syslog', pattern: 'abc' })).toMatchObject({ pattern: 'abc' });
    const p = { type: 'string', minLength: 5, maxLength: 4 };
    expect(manifestSchema.safeParse({ description: 'x', params: { p } }).success).toBe(false);
  });

  it('rejects malformed manifests with the reason', () => {
    expect(manifestSchema.safeParse({ description: 'x', params: { p: { type: 'float' } } }).success).toBe(false);
    expect(manifestSchema.safeParse({ description: 'x', timeoutSec: 0 }).success).toBe(false);
    expect(manifestSchema.parse({ description: 'x' })).toEqual({ description: 'x', timeoutSec: 60, params: {} });
  });
});
