import { shippedHandlers } from './kinds/index.ts';
import { runWorker } from './process.ts';

await runWorker(shippedHandlers);
