import type { HonoRequest } from 'hono';
import { html } from 'hono/html';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError, z } from 'zod';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { JobConflictError, JobValidationError } from '../jobs/lib/errors.ts';
import { QueueUnavailableError } from '../jobs/lib/queue.ts';

/** An error with a status and a stable code, rendered as `{error:{code,message,details}}`. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details: unknown = null) =>
  new HttpError(400, 'invalid_request', message, details);
export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);
export const forbidden = (message = 'your role does not allow this') => new HttpError(403, 'forbidden', message);
export const conflict = (message: string, details: unknown = null) => new HttpError(409, 'conflict', message, details);

/** Parses with zod, turning failures into a 400 that names each field. */
export function parseOr400<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw badRequest(`invalid ${what}`, z.flattenError(r.error));
  return r.data;
}

/** The request's JSON body, or a 400 that says it is not JSON. */
export async function jsonBody(req: HonoRequest): Promise<unknown> {
  try {
    // HonoRequest caches the text the body guard already read: one read, one parse.
    return JSON.parse(await req.text());
  } catch {
    throw badRequest('the body is not valid JSON');
  }
}

export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof JobValidationError) return new HttpError(400, 'invalid_request', err.message, err.details);
  if (err instanceof JobConflictError) return new HttpError(409, err.code, err.message, err.details);
  if (err instanceof ZodError) return badRequest('invalid request', z.flattenError(err));
  if (err instanceof QueueUnavailableError) return new HttpError(503, 'queue_unavailable', err.message);
  // The cause stays out of the answer: a wrapped pg error names the query and its parameters.
  if (isDatabaseUnavailable(err)) return new HttpError(503, 'database_unavailable', 'the database is unreachable');
  if (err instanceof HTTPException) {
    if (err.status === 413) return new HttpError(413, 'payload_too_large', 'the request body is too large');
    if (err.status === 403) return new HttpError(403, 'csrf', err.message || 'cross-site request refused');
    if (err.status < 500) return new HttpError(err.status as ContentfulStatusCode, 'invalid_request', err.message);
  }
  return null;
}

/** htmx forms swap the answer into the page, so they get the error as readable HTML. */
export function htmlError(e: HttpError) {
  const details = e.details as { formErrors?: string[]; fieldErrors?: Record<string, string[]> } | null;
  // Errors of the whole form (an unknown field) first, then each field's.
  const lines = [
    ...(details?.formErrors ?? []),
    ...Object.entries(details?.fieldErrors ?? {}).map(([k, v]) => `${k}: ${v.join(', ')}`),
  ];
  return html`<div class="error" role="alert"><strong>${e.message}</strong>${
    lines.length ? html`<ul>${lines.map((line) => html`<li>${line}</li>`)}</ul>` : ''
  }</div>`;
}
