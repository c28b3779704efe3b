import { BlockList, isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { Config } from '../../config.ts';
import type { AppEnv } from '../context.ts';

/**
 * Who is calling, and over what. X-Forwarded-For and X-Forwarded-Proto are anyone's to send, so they
 * count only when the direct peer is one of DECKHAND_TRUSTED_PROXIES; then the client is the
 * rightmost X-Forwarded-For hop that is not itself a trusted proxy.
 */

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
function normalize(address: string): string {
  const a = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return mapped ? mapped[1]! : a;
}

const lists = new WeakMap<Config, BlockList>();

function trustedProxies(config: Config): BlockList {
  let list = lists.get(config);
  if (!list) {
    list = new BlockList();
    for (const entry of config.DECKHAND_TRUSTED_PROXIES) {
      const [address = '', prefix] = entry.split('/');
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) list.addAddress(address, type);
      else list.addSubnet(address, Number(prefix), type);
    }
    lists.set(config, list);
  }
  return list;
}

function isTrusted(config: Config, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && trustedProxies(config).check(address, family === 6 ? 'ipv6' : 'ipv4');
}

function peerAddress(c: Context<AppEnv>): string | null {
  try {
    const address = getConnInfo(c).remote.address;
    return address ? normalize(address) : null;
  } catch {
    return null; // app.request() in tests has no socket
  }
}

const fromTrustedProxy = (c: Context<AppEnv>): boolean => {
  const peer = peerAddress(c);
  return peer !== null && isTrusted(c.var.deps.config, peer);
};

/** The client's address, for login limits and audit rows. */
export function clientAddress(c: Context<AppEnv>): string {
  const peer = peerAddress(c);
  if (peer === null) return 'unknown';
  const config = c.var.deps.config;
  if (!isTrusted(config, peer)) return peer;
  const hops = (c.req.header('X-Forwarded-For') ?? '').split(',').map(normalize).filter(Boolean);
  let client = peer;
  for (const hop of hops.reverse()) {
    if (!isIP(hop)) break; // a malformed hop: the last proxy we trust is as far as we can see
    client = hop;
    if (!isTrusted(config, hop)) break;
  }
  return client;
}

/** Whether the browser reached Deckhand over TLS (directly, or through a trusted proxy that says so). */
export function requestIsHttps(c: Context<AppEnv>): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  if (!fromTrustedProxy(c)) return false;
  return c.req.header('X-Forwarded-Proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}
