import type { MiddlewareHandler } from 'hono';
import { type DescribeRouteOptions, describeRoute, resolver } from 'hono-openapi';
import { z } from 'zod';
import type { Role } from '../../db/users.ts';
import { inputJsonSchema } from './json-schema.ts';

/**
 * How every /api route describes itself for `GET /api/openapi.json` (hono-openapi reads these
 * off the app's route table). Put `apiDoc({...})` first in the route's handlers and give it the
 * very zod schema the handler parses with: the document is generated from that schema, and
 * test/openapi.test.ts sends each example through the app and fails on a route without one.
 */
type SuccessStatus = 200 | 201 | 202 | 204;

export interface ApiDoc {
  summary: string;
  description?: string;
  tag: string;
  /** The least role the route's requireRole asks for. */
  role: Role;
  /** Path parameters, each with the example value the test fills in. */
  params?: Record<string, { example: string; description?: string }>;
  /** Request headers the handler reads, with the schema it checks them with. */
  headers?: Record<string, { schema: z.ZodType; description: string }>;
  /** The query's zod object (the handler's own), one parameter per field. */
  query?: z.ZodType;
  body?: DocBody;
  /** The success answer (and `also`, another success status, e.g. 201 for a PUT that creates). */
  ok: { status: SuccessStatus; description: string; schema?: z.ZodType; media?: string; also?: SuccessStatus };
  /** Answers besides 400 (when there is input), 401, 403 and 503, which every route may give. */
  errors?: (404 | 409 | 413 | 422 | 429)[];
}

export interface DocBody {
  /** The schema the handler parses the body with, or (job requests) a document schema plus that parse. */
  schema: z.ZodType | { document: () => Promise<unknown>; parse: (input: unknown) => unknown };
  /** Named examples; each must pass `schema` and the route (test/openapi.test.ts). */
  examples: Record<string, unknown>;
  media?: string;
}

/** What the test reads back off a route: how a body example is checked against the route's schema. */
export const docCheck = Symbol('deckhand-openapi-check');
export type DocCheck = { parse: (input: unknown) => unknown; doc: ApiDoc };

const ERROR_RESPONSES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  422: 'Unprocessable',
  429: 'TooManyRequests',
  503: 'Unavailable',
};
export const errorResponseNames = ERROR_RESPONSES;

function queryParameters(query: z.ZodType) {
  const js = inputJsonSchema(query);
  return Object.entries(js.properties ?? {}).map(([name, schema]) => ({
    in: 'query' as const,
    name,
    required: js.required?.includes(name) ?? false,
    ...(schema.description ? { description: schema.description } : {}),
    schema,
  }));
}

function bodySchema(schema: DocBody['schema']) {
  if (schema instanceof z.ZodType) return resolver(schema);
  // hono-openapi resolves any object with toOpenAPISchema (a body read in two steps, e.g. job-request-doc.ts).
  return { toOpenAPISchema: async () => ({ schema: await schema.document() }) };
}

const parserOf = (schema: DocBody['schema']) =>
  schema instanceof z.ZodType ? (input: unknown) => schema.parse(input) : schema.parse;

function responses(doc: ApiDoc) {
  const out: Record<string, unknown> = {};
  const media = doc.ok.media ?? 'application/json';
  out[doc.ok.status] = {
    description: doc.ok.description,
    ...(doc.ok.schema ? { content: { [media]: { schema: resolver(doc.ok.schema) } } } : {}),
  };
  if (doc.ok.also) out[doc.ok.also] = out[doc.ok.status];
  const codes = new Set<number>([401, 403, 503, ...(doc.errors ?? [])]);
  if (doc.body || doc.query || doc.params || doc.headers) codes.add(400);
  if (doc.body) codes.add(413);
  for (const code of [...codes].sort()) out[code] = { $ref: `#/components/responses/${ERROR_RESPONSES[code]}` };
  return out;
}

/** The route's description (a pass-through middleware hono-openapi finds in the route table). */
export function apiDoc(doc: ApiDoc): MiddlewareHandler {
  const parameters = [
    ...Object.entries(doc.params ?? {}).map(([name, p]) => ({
      in: 'path' as const,
      name,
      required: true,
      ...(p.description ? { description: p.description } : {}),
      schema: { type: 'string' },
      example: p.example,
    })),
    ...(doc.query ? queryParameters(doc.query) : []),
    ...Object.entries(doc.headers ?? {}).map(([name, h]) => ({
      in: 'header' as const,
      name,
      description: h.description,
      schema: inputJsonSchema(h.schema),
    })),
  ];
  const media = doc.body?.media ?? 'application/json';
  const spec = {
    summary: doc.summary,
    description: [doc.description, `Needs the ${doc.role} role.`].filter(Boolean).join('\n\n'),
    tags: [doc.tag],
    'x-deckhand-role': doc.role,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: {
              [media]: {
                schema: bodySchema(doc.body.schema),
                examples: Object.fromEntries(Object.entries(doc.body.examples).map(([k, value]) => [k, { value }])),
              },
            },
          },
        }
      : {}),
    responses: responses(doc),
  };
  // The role as an extension too (x-deckhand-role), which DescribeRouteOptions does not type.
  const middleware = describeRoute(spec as DescribeRouteOptions);
  const check: DocCheck = { parse: doc.body ? parserOf(doc.body.schema) : () => undefined, doc };
  return Object.assign(middleware, { [docCheck]: check });
}
