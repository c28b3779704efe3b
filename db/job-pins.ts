import type { Db } from './client.ts';

/** Pins or unpins a job (pruning keeps a pinned job whole); false if there is no such job. */
export async function setJobPinned(db: Db, id: string, pinned: boolean): Promise<boolean> {
  const r = await db.$client.query('UPDATE jobs SET pinned = $2 WHERE id = $1', [id, pinned]);
  return (r.rowCount ?? 0) > 0;
}
