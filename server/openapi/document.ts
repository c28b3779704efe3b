import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Hono } from 'hono';
import { generateSpecs, resolver } from 'hono-openapi';
import { z } from 'zod';
import { APP_DIR } from '../../config.ts';
import { errorResponseNames } from './describe.ts';

/** `{"error":{code,message,details}}`, every error's shape (DESIGN §3). */
export const errorBody = z.object({
  error: z.object({
    code: z.string().meta({ example: 'invalid_request' }),
    message: z.string(),
    details: z.unknown().meta({ description: 'For a 400, zod-style `fieldErrors` and `formErrors` naming each field' }),
    requestId: z.string().optional().meta({ description: 'On a 5xx: the id in the log line' }),
  }),
});

const ERROR_DESCRIPTIONS: Record<string, string> = {
  BadRequest: 'Bad input; details name each field (an unknown field too)',
  Unauthorized: 'No valid session or bearer token',
  Forbidden: 'The role does not allow this, or a session write without same origin and X-CSRF-Token',
  NotFound: 'No such resource',
  Conflict: 'The resource is busy or the change conflicts with its state',
  PayloadTooLarge: 'The body is larger than 64 KiB',
  Unprocessable: 'An Idempotency-Key reused for a different request',
  TooManyRequests: 'Rate-limited; see Retry-After',
  Unavailable: 'The database, the queue or a host worker is unreachable',
};

// From the app directory: compiled, this file sits one level deeper (dist/server/openapi).
const { version } = createRequire(path.join(APP_DIR, 'package.json'))('./package.json') as { version: string };

function documentation() {
  const responses = Object.fromEntries(
    Object.values(errorResponseNames).map((name) => [
      name,
      { description: ERROR_DESCRIPTIONS[name]!, content: { 'application/json': { schema: resolver(errorBody) } } },
    ]),
  );
  return {
    info: {
      title: 'Deckhand API',
      version,
      description:
        'Jobs, targets, scripts, certificates, users and tokens. Generated from the zod schemas that validate ' +
        'each request. Authenticate with `Authorization: Bearer <token>` (`deckhand token create`, or the Tokens ' +
        'page); a browser session works too, and then every write needs same origin and the `X-CSRF-Token` header.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http' as const, scheme: 'bearer', description: 'An API token' },
        session: { type: 'apiKey' as const, in: 'cookie' as const, name: 'deckhand_session' },
      },
      responses,
    },
    security: [{ bearer: [] }, { session: [] }],
  };
}

/** The OpenAPI 3.1 document of every described route of `app`. */
export async function buildDocument(app: Hono) {
  // biome-ignore lint/suspicious/noExplicitAny: hono-openapi types components.responses without its resolver.
  return generateSpecs(app, { documentation: documentation() as any, excludeStaticFile: false });
}

const swaggerDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'text/javascript',
};

/** A swagger-ui-dist file, read on first use (most processes never serve the docs page). */
const cache = new Map<string, Promise<Buffer>>();
export function swaggerFile(name: string): { type: string; body: Promise<Buffer> } | null {
  const type = SWAGGER_FILES[name];
  if (!type) return null;
  let body = cache.get(name);
  if (!body) {
    body = fs.readFile(path.join(swaggerDir, name));
    body.catch(() => cache.delete(name));
    cache.set(name, body);
  }
  return { type, body };
}
