import fs from 'node:fs';
import https from 'node:https';
import type { Config, Logger } from '../config.ts';

const readPair = (config: Config) => ({
  cert: fs.readFileSync(config.DECKHAND_TLS_CERT!),
  key: fs.readFileSync(config.DECKHAND_TLS_KEY!),
});

/** Options for @hono/node-server's serve(): HTTPS when DECKHAND_TLS_CERT and DECKHAND_TLS_KEY are set. */
export function tlsServeOptions(config: Config) {
  if (!config.DECKHAND_TLS_CERT) return {};
  return { createServer: https.createServer, serverOptions: readPair(config) };
}

/**
 * Loads the pair now on disk into the running server: new connections get it,
 * open ones and every session carry on. A pair that does not load (a key that
 * does not match) leaves the old one in place, and the cert-reload probe notices.
 */
export function reloadTls(server: unknown, config: Config, log: Logger, by: string): void {
  if (!config.DECKHAND_TLS_CERT || !(server instanceof https.Server)) return;
  try {
    server.setSecureContext(readPair(config));
    log.info({ by, cert: config.DECKHAND_TLS_CERT }, 'TLS certificate reloaded in place');
  } catch (err) {
    log.error({ err, by }, 'TLS certificate reload failed; still serving the previous one');
  }
}
