import { sql } from 'drizzle-orm';
import type { Actor } from './audit.ts';
import type { Db } from './client.ts';

/** Reads of the same log with the same filter by the same user within this window share one audit row. */
export const LOG_AUDIT_WINDOW_MINUTES = 10;

/**
 * Audits a log read without flooding the audit page (a Follow polls every 2 s): the first read of
 * a (user, target, source, filter) opens a row, and later ones within the window add to its
 * `count` and `lastAt`. An advisory lock on the key makes concurrent first reads share one row.
 */
export async function auditLogRead(
  db: Db,
  actor: Actor,
  target: string,
  details: { source: string; filter: Record<string, string>; follow?: boolean },
): Promise<void> {
  const key = JSON.stringify([actor.id ?? actor.name, target, details.source, details.filter, !!details.follow]);
  await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('deckhand.log-audit'), hashtext(${key}))`);
    const updated = await tx.execute(sql`
      UPDATE audit_log
         SET details = details || jsonb_build_object('count', (details->>'count')::int + 1, 'lastAt', now())
       WHERE id = (SELECT id FROM audit_log
                    WHERE at >= now() - make_interval(mins => ${LOG_AUDIT_WINDOW_MINUTES})
                      AND action = 'logs.read' AND subject = ${target} AND details->>'key' = ${key}
                    ORDER BY at DESC LIMIT 1)
      RETURNING id`);
    if (updated.rows.length > 0) return;
    await tx.execute(sql`
      INSERT INTO audit_log (actor_id, actor, action, subject, details)
      VALUES (${actor.id}, ${actor.name}, 'logs.read', ${target},
              ${JSON.stringify({ ...details, key, count: 1 })}::jsonb)`);
  });
}
