import { Hono, type HonoRequest } from 'hono';
import { z } from 'zod';
import { audit } from '../../db/audit.ts';
import { type CertificateRow, listCertificates } from '../../db/certificates.ts';
import { certificates } from '../../db/schema.ts';
import { inspectBundle, WARN_DAYS } from '../../jobs/lib/certs.ts';
import type { AppEnv } from '../context.ts';
import { badRequest, jsonBody, parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';

const upload = z.object({ cert: z.string().min(1).max(60_000), key: z.string().min(1).max(20_000) });

/** JSON `{cert, key}` from the API, or the certificates page's multipart form (text or files). */
async function readUpload(req: HonoRequest): Promise<unknown> {
  const type = req.header('Content-Type') ?? '';
  if (type.includes('application/json')) return jsonBody(req);
  const form = await req.formData().catch(() => null);
  if (!form) throw badRequest('send JSON {cert, key} or a form with cert and key');
  const field = async (name: string) => {
    const v = form.get(name);
    return typeof v === 'string' ? v : v ? await v.text() : undefined;
  };
  return { cert: await field('cert'), key: await field('key') };
}

export const toApiCertificate = (row: CertificateRow, warnings: string[] = []) => {
  const daysLeft = Math.floor((row.notAfter.getTime() - Date.now()) / 86_400_000);
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    subject: row.subject,
    names: row.names,
    notAfter: row.notAfter.toISOString(),
    daysLeft,
    warnings: warnings.length > 0 || daysLeft >= WARN_DAYS ? warnings : [`the certificate expires in ${daysLeft} days`],
    createdAt: row.createdAt.toISOString(),
  };
};

const tag = 'certificates';
const pem = (label: string) => `-----BEGIN ${label}-----\n…\n-----END ${label}-----\n`;

export const certificatesApi = new Hono<AppEnv>()
  .get(
    '/',
    apiDoc({
      tag,
      summary: 'List uploaded certificate bundles',
      role: 'viewer',
      ok: { status: 200, description: '`{items:[Certificate]}`' },
    }),
    requireRole('viewer'),
    async (c) => c.json({ items: (await listCertificates(c.var.deps.db)).map((r) => toApiCertificate(r)) }),
  )
  .post(
    '/',
    apiDoc({
      tag,
      summary: 'Upload a certificate and its key (PEM)',
      description: 'JSON `{cert, key}`, or a multipart form with `cert` and `key` fields. The key is stored sealed.',
      role: 'admin',
      body: { schema: upload, examples: { pem: { cert: pem('CERTIFICATE'), key: pem('PRIVATE KEY') } } },
      ok: { status: 201, description: 'The bundle, with warnings' },
    }),
    requireRole('admin'),
    async (c) => {
      const { db, env } = c.var.deps;
      const { cert, key } = parseOr400(upload, await readUpload(c.req), 'certificate upload');
      const bundle = inspectBundle(cert, key);
      const user = c.var.user!;
      const [row] = await db
        .insert(certificates)
        .values({
          certPem: cert,
          keyEncrypted: env.secrets.seal(key),
          fingerprint: bundle.fingerprint,
          subject: bundle.subject,
          names: bundle.names,
          notAfter: bundle.notAfter,
          uploadedBy: user.id,
        })
        .returning();
      await audit(db, { id: user.id, name: user.username }, 'certificate.upload', row!.id, {
        fingerprint: bundle.fingerprint,
        subject: bundle.subject,
        names: bundle.names,
        notAfter: bundle.notAfter.toISOString(),
      });
      if (c.req.header('HX-Request')) c.header('HX-Refresh', 'true');
      return c.json(toApiCertificate(row!, bundle.warnings), 201);
    },
  );
