import type { Config, Logger } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { configReads } from '../configs/reads.ts';
import type { HostReadHandlers } from '../host-server.ts';
import { logReadHandlers } from '../logs/handlers.ts';
import { statusReads } from '../status/reads.ts';

export interface HostReadDeps {
  config: Config;
  db: Db;
  log: Logger;
}

/** Every live read a worker answers for its host (DESIGN §9), one spread per area. */
export function hostReadHandlers(deps: HostReadDeps): HostReadHandlers {
  return { ...configReads(deps), ...statusReads(deps), ...logReadHandlers(deps) };
}
