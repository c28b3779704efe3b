import net from 'node:net';

/**
 * Where a health URL or TLS probe may never point: link-local addresses and the
 * cloud metadata services, which hand out the host's credentials to whoever asks
 * from the machine. Loopback and private ranges stay allowed: targets are usually local.
 */
const forbidden = new net.BlockList();
forbidden.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local; AWS, GCP, Azure, OpenStack metadata at .169.254
forbidden.addSubnet('fe80::', 10, 'ipv6'); // link-local
forbidden.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
forbidden.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
forbidden.addAddress('168.63.129.16', 'ipv4'); // Azure wire server
forbidden.addAddress('192.0.0.192', 'ipv4'); // Oracle Cloud metadata (classic)
forbidden.addSubnet('64:ff9b::a9fe:0', 112, 'ipv6'); // 169.254/16 through NAT64

/** Names that resolve to a metadata service inside a cloud, whatever this machine's resolver says now. */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.com',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
]);

/** Why `address` (an IP) is off limits, or null. IPv4-mapped IPv6 counts as its IPv4 address. */
export function forbiddenAddress(address: string): string | null {
  const family = net.isIP(address);
  if (family === 0) return null;
  return forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6')
    ? `${address} is a link-local or cloud metadata address`
    : null;
}

/**
 * Why `host` (a name or an IP literal, as in a URL) is off limits, or null. Written
 * forms of an address (`0xa9fea9fe`, `169.254.169.254.`) are read the way a URL parser
 * and the resolver read them, so no spelling slips through.
 */
export function forbiddenHost(host: string): string | null {
  let normal: string;
  try {
    normal = new URL(`http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}/`).hostname;
  } catch {
    return `${host} is not a valid host name`;
  }
  normal = normal
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  if (METADATA_NAMES.has(normal)) return `${host} is a cloud metadata service`;
  return forbiddenAddress(normal);
}

/** The host part of a `host:port` probe or an http(s) URL, without IPv6 brackets. */
export function hostOf(endpoint: string): string {
  if (/^https?:\/\//i.test(endpoint)) return new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  return endpoint.slice(0, endpoint.lastIndexOf(':'));
}
