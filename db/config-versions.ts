import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { configVersions } from './schema.ts';

/** Versions of a target's config files (DESIGN §10): who, when, why, the text and its diff. */

export type ConfigVersionRow = typeof configVersions.$inferSelect;
export type ConfigOrigin = ConfigVersionRow['origin'];

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A unified diff from `before` to `after`, named after the file ('' when they are equal). */
export function unifiedDiff(file: string, before: string, after: string): string {
  if (before === after) return '';
  return createTwoFilesPatch(file, file, before, after, undefined, undefined, { context: 3 });
}

export async function latestVersion(
  db: Pick<Db, 'select'>,
  target: string,
  file: string,
): Promise<ConfigVersionRow | null> {
  const [row] = await db
    .select()
    .from(configVersions)
    .where(and(eq(configVersions.target, target), eq(configVersions.path, file)))
    .orderBy(desc(configVersions.version))
    .limit(1);
  return row ?? null;
}

/** The latest version's number and sha256 of each of `files`. */
export async function latestVersions(db: Db, target: string, files: string[]) {
  if (files.length === 0) return new Map<string, { version: number; sha256: string }>();
  const rows = await db
    .selectDistinctOn([configVersions.path], {
      path: configVersions.path,
      version: configVersions.version,
      sha256: configVersions.sha256,
    })
    .from(configVersions)
    .where(and(eq(configVersions.target, target), inArray(configVersions.path, files)))
    .orderBy(configVersions.path, desc(configVersions.version));
  return new Map(rows.map((r) => [r.path, { version: r.version, sha256: r.sha256 }]));
}

export async function findVersion(db: Db, target: string, file: string, version: number) {
  const [row] = await db
    .select()
    .from(configVersions)
    .where(and(eq(configVersions.target, target), eq(configVersions.path, file), eq(configVersions.version, version)));
  return row ?? null;
}

/** Newest first, at most `limit`. */
export async function listVersions(db: Db, target: string, file: string, limit = 100) {
  return db
    .select()
    .from(configVersions)
    .where(and(eq(configVersions.target, target), eq(configVersions.path, file)))
    .orderBy(desc(configVersions.version))
    .limit(limit);
}

export interface NewVersion {
  target: string;
  path: string;
  text: string;
  comment: string;
  actor: { id: string | null; name: string };
  jobId: string | null;
  origin: ConfigOrigin;
  /** The text this version replaces, when there is no earlier version to diff against. */
  before: string;
}

/**
 * Records the next version of a file: its number is the last one plus one and its diff is against
 * the previous version (or `before`, for the first). One transaction holds a lock on the file's
 * history, so an adopt and a job's apply at the same moment get versions N and N+1, each diffed
 * against the other.
 */
export async function recordVersion(db: Db, v: NewVersion): Promise<ConfigVersionRow> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`config:${v.target}:${v.path}`}, 0))`);
    const previous = await latestVersion(tx, v.target, v.path);
    const [row] = await tx
      .insert(configVersions)
      .values({
        target: v.target,
        path: v.path,
        version: (previous?.version ?? 0) + 1,
        text: v.text,
        sha256: sha256(v.text),
        comment: v.comment,
        actorId: v.actor.id,
        actor: v.actor.name,
        jobId: v.jobId,
        origin: v.origin,
        diff: unifiedDiff(v.path, previous?.text ?? v.before, v.text),
      })
      .returning();
    return row!;
  });
}
