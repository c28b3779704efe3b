import { type KindRegistry, shippedKinds } from '../../jobs/index.ts';
import { jobEnvelope, parseJobRequest } from '../job-service.ts';
import type { DocBody } from './describe.ts';
import { inputJsonSchema, withProperties } from './json-schema.ts';

/**
 * A job request as the document shows it: one alternative per kind, each the kind's own request
 * schema with the envelope's `kind` and `onBusy` beside its fields, which is how
 * resolveRequest reads it (the envelope first, then the rest against the kind).
 */
export function jobRequestDocument(registry: KindRegistry) {
  const onBusy = inputJsonSchema(jobEnvelope.shape.onBusy);
  const oneOf = [...registry.values()].map((kind) => ({
    ...withProperties(inputJsonSchema(kind.request), { kind: { type: 'string', const: kind.name }, onBusy }, ['kind']),
    title: kind.name,
    description: kind.description,
  }));
  return { oneOf };
}

/** The body of POST /api/jobs: its document, and the very parse the route applies before live checks. */
export const jobRequestBody = (examples: DocBody['examples']): DocBody => ({
  schema: {
    document: async () => jobRequestDocument(shippedKinds),
    parse: (input: unknown) => parseJobRequest(shippedKinds, input),
  },
  examples,
});
