// A worker process as production runs it, with the benchmark's no-op kind registered.
import { registryOf } from '../../jobs/index.ts';
import script from '../../jobs/script.ts';
import { runWorker } from '../../worker/process.ts';
import noop from './noop.ts';

await runWorker(registryOf(script, noop));
