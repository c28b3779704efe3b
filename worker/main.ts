import { shippedKinds } from '../jobs/index.ts';
import { runWorker } from './process.ts';

await runWorker(shippedKinds);
