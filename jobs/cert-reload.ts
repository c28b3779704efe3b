import { z } from 'zod';
import { findCertificate } from '../db/certificates.ts';
import { inspectBundle } from './lib/certs.ts';
import { JobValidationError } from './lib/errors.ts';
import { defineKind, type KindEnv } from './lib/kind.ts';
import { loadTarget, type TargetSpec, targetName } from './lib/targets.ts';

const request = z.strictObject({ target: targetName, bundle: z.uuid() });

export type TlsTarget = TargetSpec & { tls: NonNullable<TargetSpec['tls']> };

export async function loadTlsTarget(env: KindEnv, name: string): Promise<TlsTarget> {
  const { spec } = await loadTarget(env, name);
  if (!spec.tls) throw new JobValidationError(`target ${name} has no TLS section`, { target: ['no tls settings'] });
  return spec as TlsTarget;
}

export async function loadBundle(env: KindEnv, id: string, spec: TlsTarget) {
  const row = await findCertificate(env.db, id);
  if (!row) throw new JobValidationError(`unknown certificate bundle: ${id}`, { bundle: ['no such upload'] });
  const keyPem = env.secrets.open(row.keyEncrypted);
  return { certPem: row.certPem, keyPem, inspected: inspectBundle(row.certPem, keyPem, spec.names) };
}

/**
 * Validates an uploaded certificate and key, swaps them in atomically with a
 * backup, reloads whatever serves them and probes the live endpoint for the new
 * fingerprint. If the reload or the probe fails, the old pair goes back
 * (worker/kinds/cert-reload.ts).
 */
export default defineKind({
  name: 'cert-reload',
  description: 'Swap in a new TLS certificate and key, verified live, with automatic restore',
  request,
  retry: { attempts: 1, backoffMs: 1000 },

  async resolve(req, env) {
    const spec = await loadTlsTarget(env, req.target);
    const { inspected } = await loadBundle(env, req.bundle, spec);
    return { target: req.target, script: null, params: { bundle: req.bundle, fingerprint: inspected.fingerprint } };
  },

  fromStored: (stored) => ({ target: stored.target, bundle: stored.params.bundle }),
});
