import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { CliError } from './errors.ts';

export interface HttpAnswer {
  status: number;
  statusText: string;
  text: string;
}

export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  /** PEM of a private CA to trust for https, on top of the public roots. */
  ca?: string | undefined;
}

/** Checks a server address early, so a typo is a sentence and not a socket error. */
export function parseServerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`"${text}" is not a URL; give the address of Deckhand, e.g. https://deckhand.example.com`, 2);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`"${text}" is not an http:// or https:// URL`, 2);
  }
  return url;
}

const tlsHints: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'pass --ca FILE to trust a private certificate authority',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'pass --ca FILE to trust a self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'pass --ca FILE to trust a private certificate authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'pass --ca FILE to trust a private certificate authority',
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's certificate is not for this host name",
};

/** A network failure as one line: what failed, and what to do when we know. */
function unreachable(base: string, err: NodeJS.ErrnoException): CliError {
  const hint = tlsHints[err.code ?? ''];
  const why = err.code === 'ENOTFOUND' ? `no such host ${new URL(base).hostname}` : err.message;
  return new CliError(`cannot reach Deckhand at ${base}: ${why}${hint ? `\n${hint}` : ''}`);
}

/** One HTTP(S) request with node:http, so a private CA can be trusted without extra packages. */
export function request(target: URL, r: HttpRequest): Promise<HttpAnswer> {
  const secure = target.protocol === 'https:';
  const ca = secure && r.ca ? [...tls.rootCertificates, r.ca] : undefined;
  const send = secure ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: r.method, headers: r.headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(unreachable(target.origin, err)));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.setTimeout(60_000, () => req.destroy(Object.assign(new Error('no answer within 60 s'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => reject(unreachable(target.origin, err)));
    req.end(r.body);
  });
}
