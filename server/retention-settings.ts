import { z } from 'zod';
import type { Settings } from '../db/settings.ts';
import { badRequest } from './errors.ts';

/** A retention period in days: at least one, at most a hundred years. */
export const retentionDays = z.number().int().min(1).max(36_500);

/**
 * The rules between the retention settings, checked on the settings as they would be after a
 * change (a patch may name one field): output is not kept longer than its job, and audit rows are
 * kept at least the floor, which only the host's DECKHAND_AUDIT_RETENTION_MIN_DAYS can lower.
 */
export function checkRetention(s: Settings, auditFloorDays: number): void {
  const fieldErrors: Record<string, string[]> = {};
  if (s.retentionOutputDays > s.retentionJobDays)
    fieldErrors.retentionOutputDays = [`must not be longer than the job retention (${s.retentionJobDays} days)`];
  if (s.retentionAuditDays < auditFloorDays)
    fieldErrors.retentionAuditDays = [
      `audit rows are kept at least ${auditFloorDays} days; a shorter period needs DECKHAND_AUDIT_RETENTION_MIN_DAYS set on every Deckhand process`,
    ];
  if (Object.keys(fieldErrors).length > 0)
    throw badRequest('invalid retention settings', { formErrors: [], fieldErrors });
}

/** The retention form's fields (strings, as a form sends them) as a settings patch. */
export const retentionForm = z
  .object({
    retentionOutputDays: z.coerce.number().pipe(retentionDays),
    retentionJobDays: z.coerce.number().pipe(retentionDays),
    retentionAuditDays: z.coerce.number().pipe(retentionDays),
    _csrf: z.string().optional(),
  })
  .strict()
  .transform(({ _csrf, ...patch }) => patch);
