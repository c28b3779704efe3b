import { z } from 'zod';

export type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  required?: string[];
  oneOf?: JsonSchema[];
  description?: string;
  [k: string]: unknown;
};

/** What a client may send to `schema` (its input side: defaults optional, coercions as typed), as JSON Schema 2020-12. */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `js` with more properties on it (on each alternative of a union): fields a handler reads beside a schema. */
export function withProperties(js: JsonSchema, properties: Record<string, JsonSchema>, required: string[] = []) {
  if (js.oneOf) return { ...js, oneOf: js.oneOf.map((alt): JsonSchema => withProperties(alt, properties, required)) };
  return { ...js, properties: { ...properties, ...js.properties }, required: [...required, ...(js.required ?? [])] };
}
