import { z } from 'zod';
import type { Db } from './client.ts';
import type { PruneCounts } from './prune.ts';

/** The last pruning run, as the settings page shows it; kept in the settings table under `pruneRun`. */
export const pruneRunSchema = z.object({
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  by: z.string(),
  counts: z.record(z.string(), z.number()).nullable(),
  error: z.string().nullable(),
});
export type PruneRun = z.infer<typeof pruneRunSchema>;

/**
 * Claims this period's run for `worker`: true for exactly one caller per `everyMs`, however many
 * workers ask at once (the row lock of the upsert orders them; the later ones see a fresh start).
 */
export async function claimPruneRun(db: Db, worker: string, everyMs: number): Promise<boolean> {
  const run: PruneRun = { startedAt: '', finishedAt: null, by: worker, counts: null, error: null };
  const r = await db.$client.query(
    `INSERT INTO settings (key, value)
     VALUES ('pruneRun', jsonb_set($1::jsonb, '{startedAt}', to_jsonb(now())))
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
     WHERE (settings.value->>'startedAt')::timestamptz <= now() - $2 * interval '1 millisecond'
     RETURNING key`,
    [JSON.stringify(run), everyMs],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function finishPruneRun(
  db: Db,
  worker: string,
  outcome: { counts: PruneCounts } | { error: string },
): Promise<void> {
  const patch = {
    finishedAt: new Date().toISOString(),
    counts: 'counts' in outcome ? outcome.counts : null,
    error: 'error' in outcome ? outcome.error : null,
  };
  await db.$client.query(
    `UPDATE settings SET value = value || $2::jsonb WHERE key = 'pruneRun' AND value->>'by' = $1`,
    [worker, JSON.stringify(patch)],
  );
}

export async function readPruneRun(db: Db): Promise<PruneRun | null> {
  const r = await db.$client.query(`SELECT value FROM settings WHERE key = 'pruneRun'`);
  const parsed = pruneRunSchema.safeParse(r.rows[0]?.value);
  return parsed.success ? parsed.data : null;
}
