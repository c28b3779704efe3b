import type { Db } from './client.ts';
import { auditLog } from './schema.ts';

export interface Actor {
  id: string | null;
  name: string;
}

export const systemActor: Actor = { id: null, name: 'system' };

/** Appends one audit row. Callers pass details that are already free of secrets. */
export async function audit(
  db: Pick<Db, 'insert'>,
  actor: Actor,
  action: string,
  subject: string | null,
  details: Record<string, unknown> = {},
): Promise<void> {
  await db.insert(auditLog).values({ actorId: actor.id, actor: actor.name, action, subject, details });
}
