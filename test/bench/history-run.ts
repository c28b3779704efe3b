// The history section alone: `node --import tsx test/bench/history-run.ts` (same variables as npm run bench).
import { redisUrl } from '../support/db.ts';
import { historyBench } from './history.ts';

const result = await historyBench(
  { REDIS_URL: process.env.BENCH_BACKEND === 'postgres' ? undefined : redisUrl },
  (msg) => process.stderr.write(`bench: ${msg}\n`),
);
console.log(JSON.stringify(result));
process.exit(0);
