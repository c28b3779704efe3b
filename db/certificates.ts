import { desc, eq } from 'drizzle-orm';
import type { Db } from './client.ts';
import { certificates } from './schema.ts';

export type CertificateRow = typeof certificates.$inferSelect;

export async function findCertificate(db: Db, id: string): Promise<CertificateRow | null> {
  const [row] = await db.select().from(certificates).where(eq(certificates.id, id));
  return row ?? null;
}

export function listCertificates(db: Db, limit = 100): Promise<CertificateRow[]> {
  return db.select().from(certificates).orderBy(desc(certificates.createdAt)).limit(limit);
}
