import type { JobContext, JobKind, KindEnv } from '../../jobs/lib/kind.ts';

/** A job kind's definition (jobs/<name>.ts) with the worker's half: how to run it. */
export interface JobHandler<Req> extends JobKind<Req> {
  /** `req` was parsed again from the stored row with the definition's schema (the runner does it). */
  run(ctx: JobContext, req: Req, env: KindEnv): Promise<unknown>;
}

export function defineHandler<Req>(
  definition: JobKind<Req>,
  run: (ctx: JobContext, req: Req, env: KindEnv) => Promise<unknown>,
): JobHandler<Req> {
  return { ...definition, run };
}

/** What a worker runs, by kind name. It is also a KindRegistry (every handler carries its definition). */
export type HandlerRegistry = ReadonlyMap<string, JobHandler<unknown>>;

export function handlersOf<T extends unknown[]>(...handlers: { [K in keyof T]: JobHandler<T[K]> }): HandlerRegistry {
  return new Map(handlers.map((h: JobHandler<unknown>) => [h.name, h]));
}
