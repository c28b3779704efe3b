// A worker process as production runs it, with the benchmark's no-op kind registered.
import { handlersOf } from '../../worker/kinds/handler.ts';
import script from '../../worker/kinds/script.ts';
import { runWorker } from '../../worker/process.ts';
import noop from './noop.ts';

await runWorker(handlersOf(script, noop));
