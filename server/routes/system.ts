import path from 'node:path';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { APP_DIR } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { RELEASE_NAME } from '../../jobs/lib/release-name.ts';
import type { AppEnv } from '../context.ts';

function metricsRegistry(db: Db): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'deckhand_' });
  new Gauge({
    name: 'deckhand_jobs',
    help: 'Jobs recorded in the database, by kind and status',
    labelNames: ['kind', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      const r = await db.execute(sql`SELECT kind, status, count(*)::int AS n FROM jobs GROUP BY kind, status`);
      for (const row of r.rows as { kind: string; status: string; n: number }[]) {
        this.set({ kind: row.kind, status: row.status }, row.n);
      }
    },
  });
  return registry;
}

/** The release directory this code runs from, when Deckhand was deployed by Deckhand (DESIGN §1: deploy of self). */
const root = path.basename(APP_DIR);
const RUNNING_RELEASE = RELEASE_NAME.test(root) ? root : null;

/** Liveness, readiness (database and queue) and Prometheus metrics. */
export function systemRoutes(db: Db) {
  const registry = metricsRegistry(db);
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ ok: true, pid: process.pid, release: RUNNING_RELEASE }))
    .get('/readyz', async (c) => {
      const checks: Record<string, string> = {};
      await db
        .execute(sql`SELECT 1`)
        .then(() => {
          checks.database = 'ok';
        })
        .catch((err: Error) => {
          checks.database = `unreachable: ${err.message}`;
        });
      await c.var.deps.producer
        .ping()
        .then(() => {
          checks.queue = 'ok';
        })
        .catch((err: Error) => {
          checks.queue = err.message;
        });
      const ready = Object.values(checks).every((v) => v === 'ok');
      if (ready) return c.json({ ok: true, checks, backend: c.var.deps.producer.backend });
      const reason = Object.entries(checks)
        .filter(([, v]) => v !== 'ok')
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ');
      return c.json({ error: { code: 'not_ready', message: reason, details: checks } }, 503);
    })
    .get('/metrics', async (c) => {
      c.header('Content-Type', registry.contentType);
      return c.body(await registry.metrics());
    });
}
