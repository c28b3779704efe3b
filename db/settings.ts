import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from './client.ts';
import { settings } from './schema.ts';

/** Settings admins change at run time, with their defaults. */
export const settingsSchema = z.object({
  /** A deliberate restart of the web tier signs everyone out (operators asked for this). */
  logoutOnRestart: z.boolean().default(true),
  /** Retention in days (DESIGN §12), enforced by the workers' pruning (db/prune.ts). */
  retentionOutputDays: z.number().int().default(30),
  retentionJobDays: z.number().int().default(365),
  /** Never below the audit floor (DECKHAND_AUDIT_RETENTION_MIN_DAYS, 3 years by default). */
  retentionAuditDays: z.number().int().default(1095),
});
export type Settings = z.infer<typeof settingsSchema>;

export async function readSettings(db: Pick<Db, 'select'>): Promise<Settings> {
  const rows = await db.select().from(settings);
  return settingsSchema.parse(Object.fromEntries(rows.map((r) => [r.key, r.value])));
}

export async function writeSettings(db: Db, patch: Partial<Settings>): Promise<Settings> {
  for (const [key, value] of Object.entries(patch)) {
    await db.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value } });
  }
  return readSettings(db);
}

/** The state of the web tier's last rolling restart, as its supervisor records it. */
export const restartStateSchema = z.object({
  state: z.enum(['idle', 'restarting', 'done', 'failed']),
  by: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  signedOut: z.number().int().nullable(),
  pids: z.array(z.number().int()),
  error: z.string().nullable(),
});
export type RestartState = z.infer<typeof restartStateSchema>;

const idle: RestartState = {
  state: 'idle',
  by: null,
  startedAt: null,
  finishedAt: null,
  signedOut: null,
  pids: [],
  error: null,
};

export async function readRestartState(db: Db): Promise<RestartState> {
  const [row] = await db.select().from(settings).where(eq(settings.key, 'webRestart'));
  return row ? restartStateSchema.parse(row.value) : idle;
}

export async function writeRestartState(db: Db, state: RestartState): Promise<void> {
  await db
    .insert(settings)
    .values({ key: 'webRestart', value: state })
    .onConflictDoUpdate({ target: settings.key, set: { value: state } });
}
