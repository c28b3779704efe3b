import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { JobValidationError } from './errors.ts';

/** A certificate bundle that failed a check; the message says which one. */
export class CertificateError extends JobValidationError {
  override name = 'CertificateError';
}

export interface InspectedBundle {
  leaf: X509Certificate;
  chain: X509Certificate[];
  /** SHA-256 fingerprint as node and openssl print it (AB:CD:…). */
  fingerprint: string;
  subject: string;
  names: string[];
  notAfter: Date;
  daysLeft: number;
  warnings: string[];
}

export const WARN_DAYS = 14;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new CertificateError('the certificate does not parse: no PEM certificate found');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new CertificateError(`certificate ${i + 1} of the chain does not parse: ${(err as Error).message}`);
    }
  });
}

function parseKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new CertificateError('the private key does not parse (PEM, unencrypted)');
  }
}

/** DNS and IP names from the subjectAltName extension. */
export function sanNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((n): n is string => Boolean(n));
}

const covers = (cert: X509Certificate, name: string) =>
  isIP(name) ? cert.checkIP(name) !== undefined : cert.checkHost(name) !== undefined;

/**
 * Every check before anything is touched (issue: parses, key matches, not expired,
 * SAN covers the target's names, chain in order), each failing with its own message.
 */
export function inspectBundle(
  certPem: string,
  keyPem: string,
  requiredNames: string[] = [],
  now = new Date(),
): InspectedBundle {
  const chain = parseChain(certPem);
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(parseKey(keyPem))) {
    throw new CertificateError('the private key does not match the certificate');
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= now) throw new CertificateError(`the certificate expired on ${notAfter.toISOString()}`);
  if (notBefore > now) throw new CertificateError(`the certificate is not valid before ${notBefore.toISOString()}`);
  for (let i = 0; i + 1 < chain.length; i++) {
    const [child, issuer] = [chain[i]!, chain[i + 1]!];
    if (!child.checkIssued(issuer) || !child.verify(issuer.publicKey)) {
      throw new CertificateError(
        `the chain is out of order: certificate ${i + 2} (${issuer.subject.replaceAll('\n', ', ')}) did not issue certificate ${i + 1} (${child.subject.replaceAll('\n', ', ')})`,
      );
    }
  }
  const names = sanNames(leaf);
  const missing = requiredNames.filter((n) => !covers(leaf, n));
  if (missing.length > 0) {
    throw new CertificateError(
      `the certificate does not cover ${missing.join(', ')} (it covers: ${names.join(', ') || 'no SAN names'})`,
    );
  }
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
  const warnings =
    daysLeft < WARN_DAYS ? [`the certificate expires in ${daysLeft} days (${notAfter.toISOString()})`] : [];
  return {
    leaf,
    chain,
    fingerprint: leaf.fingerprint256,
    subject: leaf.subject.replaceAll('\n', ', '),
    names,
    notAfter,
    daysLeft,
    warnings,
  };
}
