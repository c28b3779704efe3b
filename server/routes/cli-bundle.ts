import fs from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';
import { HttpError } from '../errors.ts';

/**
 * Where `npm run build:cli` puts the bundle: dist/cli beside server/ when run from source, or the
 * dist/cli this file sits beside once server/ itself is compiled into dist/.
 */
const candidates = [
  path.resolve(import.meta.dirname, '../../dist/cli/deckhand.mjs'),
  path.resolve(import.meta.dirname, '../../cli/deckhand.mjs'),
];

let cached: { file: string; mtimeMs: number; body: Buffer } | null = null;

/** The built file, read again only when a new build replaced it. Never built here: the web tier spawns nothing. */
function bundle(): Buffer | null {
  for (const file of candidates) {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) continue;
    if (cached?.file !== file || cached.mtimeMs !== stat.mtimeMs) {
      cached = { file, mtimeMs: stat.mtimeMs, body: fs.readFileSync(file) };
    }
    return cached.body;
  }
  return null;
}

/** `GET /cli/deckhand.mjs`: the standalone CLI, public like the login page (it holds no secret). */
export const cliBundle = new Hono<AppEnv>().get('/deckhand.mjs', (c) => {
  const body = bundle();
  if (!body) {
    throw new HttpError(
      404,
      'cli_not_built',
      "the standalone CLI is not built on this server: run `npm run build:cli` in Deckhand's directory",
    );
  }
  return c.body(new Uint8Array(body), 200, {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Content-Disposition': 'attachment; filename="deckhand"',
    'Cache-Control': 'no-cache',
  });
});
