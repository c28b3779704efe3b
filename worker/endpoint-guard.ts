import dns from 'node:dns/promises';
import type net from 'node:net';
import { forbiddenAddress, forbiddenHost } from '../jobs/lib/endpoints.ts';
import { UnrecoverableError } from '../jobs/lib/errors.ts';

/** A health URL or TLS probe that points (or resolves) to a link-local or cloud metadata address. */
export class ForbiddenEndpointError extends UnrecoverableError {
  override name = 'ForbiddenEndpointError';
}

export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves `host` once and refuses it if any of its addresses is link-local or a metadata
 * service. The caller connects to the address returned, so a second lookup (DNS
 * rebinding) cannot swap in another. Null when the name does not resolve now.
 */
export async function checkedAddress(host: string): Promise<CheckedAddress | null> {
  const named = forbiddenHost(host);
  if (named) throw new ForbiddenEndpointError(`refusing to connect to ${host}: ${named}`);
  const all = await dns.lookup(host, { all: true, order: 'verbatim' }).catch(() => null);
  if (!all || all.length === 0) return null;
  for (const { address } of all) {
    if (forbiddenAddress(address))
      throw new ForbiddenEndpointError(
        `refusing to connect to ${host}: it resolves to ${address}, a link-local or cloud metadata address`,
      );
  }
  const first = all[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` for http(s) and tls options that answers with the already checked address. */
export function pinnedLookup(checked: CheckedAddress): net.LookupFunction {
  return ((_host: string, opts: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (opts?.all) callback(null, [{ address: checked.address, family: checked.family }]);
    else callback(null, checked.address, checked.family);
  }) as unknown as net.LookupFunction;
}
