import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultWebProcesses, loadConfig } from '../config.ts';

describe('configuration (parsed once, fails fast naming the variable)', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      DECKHAND_PORT: 8080,
      DECKHAND_WORKERS: 2,
      DECKHAND_WEB_PROCESSES: defaultWebProcesses(os.availableParallelism()),
    });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.DECKHAND_MANAGED_PATHS).toContain('/srv');
  });

  it('runs one web process below 4 cores and two from 4 up, unless told otherwise', () => {
    expect([1, 2, 3, 4, 8, 64].map(defaultWebProcesses)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(loadConfig({ DECKHAND_WEB_PROCESSES: '3' }).DECKHAND_WEB_PROCESSES).toBe(3);
  });

  it.each([
    [{ DECKHAND_PORT: 'eighty' }, 'DECKHAND_PORT'],
    [{ DECKHAND_SECRET_KEY: 'short' }, 'DECKHAND_SECRET_KEY'],
    [{ DECKHAND_MANAGED_PATHS: 'relative/dir' }, 'DECKHAND_MANAGED_PATHS'],
    [{ DECKHAND_TLS_CERT: '/etc/deckhand/tls.crt' }, 'DECKHAND_TLS_CERT, DECKHAND_TLS_KEY: set both or neither'],
    [{ DECKHAND_TLS_KEY: 'key.pem', DECKHAND_TLS_CERT: '/a.crt' }, 'DECKHAND_TLS_KEY'],
  ])('refuses %o with a message naming %s', (env, named) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(named);
  });
});
