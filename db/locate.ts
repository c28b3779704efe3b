import type { Config } from '../config.ts';
import { readRunningCluster, urlFor } from './embedded.ts';

export class NoDatabaseError extends Error {
  override name = 'NoDatabaseError';
}

/** DATABASE_URL, or else the embedded cluster that `npm start` is running under the data directory. */
export function locateDatabase(config: Config): string {
  if (config.DATABASE_URL) return config.DATABASE_URL;
  const running = readRunningCluster(config.DECKHAND_DATA_DIR);
  if (running) return urlFor(running);
  throw new NoDatabaseError(
    `DATABASE_URL is not set and no embedded database is running under ${config.DECKHAND_DATA_DIR}: ` +
      'start Deckhand with `npm start`, or set DATABASE_URL.',
  );
}
