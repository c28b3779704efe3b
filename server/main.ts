import { shippedKinds } from '../jobs/index.ts';
import { runWeb } from './web.ts';

await runWeb(shippedKinds);
