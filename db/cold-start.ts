import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { audit, systemActor } from './audit.ts';
import type { Db } from './client.ts';
import { settings } from './schema.ts';
import { readSettings } from './settings.ts';

/** The last cold start of the web tier that signed everyone out (the boot marker row). */
export const coldStartSchema = z.object({
  /** When its sign-out ran (the database's clock). */
  at: z.string(),
  signedOut: z.number().int(),
  pid: z.number().int(),
  host: z.string(),
});
export type ColdStart = z.infer<typeof coldStartSchema>;

const KEY = 'webColdStart';

export async function readColdStart(db: Pick<Db, 'select'>): Promise<ColdStart | null> {
  const [row] = await db.select().from(settings).where(eq(settings.key, KEY));
  return row ? coldStartSchema.parse(row.value) : null;
}

/** The database's clock now: every web supervisor of one database compares times on it. */
export async function databaseNow(db: Db): Promise<Date> {
  const r = await db.execute<{ now: Date }>(sql`SELECT clock_timestamp() AS now`);
  return new Date(r.rows[0]!.now);
}

export type ColdStartOutcome =
  | { kind: 'signed-out'; marker: ColdStart }
  | { kind: 'kept'; reason: 'setting-off' }
  | { kind: 'already'; by: ColdStart };

/**
 * A web supervisor that starts cold (`npm start`, a unit restart, a crash) ends every session,
 * once for however many start together (DESIGN §6): under one advisory lock, a supervisor whose
 * start began before the last cold-start sign-out ran leaves it at that one. Audited with the count.
 */
export async function endSessionsOnColdStart(
  db: Db,
  startedAt: Date,
  self: { pid: number; host: string },
): Promise<ColdStartOutcome> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('deckhand.web-cold-start'))`);
    const last = await readColdStart(tx);
    if (last && Date.parse(last.at) >= startedAt.getTime()) return { kind: 'already', by: last };
    if (!(await readSettings(tx)).logoutOnRestart) return { kind: 'kept', reason: 'setting-off' };
    const deleted = await tx.execute(sql`DELETE FROM sessions`);
    const at = await tx.execute<{ now: Date }>(sql`SELECT clock_timestamp() AS now`);
    const marker: ColdStart = {
      at: new Date(at.rows[0]!.now).toISOString(),
      signedOut: deleted.rowCount ?? 0,
      ...self,
    };
    await tx
      .insert(settings)
      .values({ key: KEY, value: marker })
      .onConflictDoUpdate({ target: settings.key, set: { value: marker } });
    await audit(tx, systemActor, 'deckhand.cold_start', null, { signedOut: marker.signedOut, ...self });
    return { kind: 'signed-out', marker };
  });
}
