import type { Context } from 'hono';
import type { Config, Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { KindRegistry } from '../jobs/index.ts';
import type { KindEnv } from '../jobs/lib/kind.ts';
import type { Producer } from '../jobs/lib/queue.ts';
import type { AuthCache } from './auth/cache.ts';
import type { SessionUser } from './auth/sessions.ts';
import type { SignOutReason } from './auth/signed-out.ts';
import type { HostClient } from './host-client.ts';

/** Everything the web tier needs, built once by the entry point (or a test). */
export interface AppDeps {
  config: Config;
  db: Db;
  producer: Producer;
  registry: KindRegistry;
  /** What job kinds check requests against (scripts, targets, managed paths, secrets). */
  env: KindEnv;
  log: Logger;
  /** Live reads of a host, answered by one of its workers (DESIGN §9). */
  host: HostClient;
  /** Token and session checks reused between requests (server/auth/cache.ts); without it each request reads them. */
  auth?: AuthCache;
  /** Present when a web-tier supervisor runs this process: asks it for a rolling restart. */
  control?: { requestRestart(by: string): Promise<void> };
}

export interface AppEnv {
  Variables: {
    deps: AppDeps;
    user: SessionUser | null;
    /** How the caller authenticated; CSRF checks apply to sessions only. */
    via: 'session' | 'token' | null;
    sessionId: string | null;
    csrfToken: string | null;
    /** Per request, from hono/request-id: 500 answers and their log lines carry it. */
    requestId: string;
    /** A session cookie came that no longer signs in, and why (for the login page). */
    signedOut: SignOutReason | null;
  };
}

/** The props every page takes from its request: the viewer, the CSRF token its forms carry and the path the nav marks. */
export function pageOf(c: Context<AppEnv>) {
  // Routes that render pages sit behind requireRole, so a user is present.
  return { user: c.get('user')!, csrfToken: c.get('csrfToken'), pagePath: c.req.path };
}
