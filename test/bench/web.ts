// The web tier as production runs it, with the benchmark's no-op kind registered.
import { registryOf } from '../../jobs/index.ts';
import script from '../../jobs/script.ts';
import { runWeb } from '../../server/web.ts';
import noop from './noop.ts';

await runWeb(registryOf(script, noop));
