import { isDatabaseUnavailable } from './unavailable.ts';

/**
 * Coalesces concurrent calls into one statement, as graphile-worker's local queue does: a call
 * waits only while the previous batch is in flight (or for the rest of this turn of the event
 * loop), so an idle system writes at once and a busy one writes many rows per round trip and
 * commit. `run` gets the items in arrival order and answers one result per item, in that order.
 *
 * A batch that fails for a reason other than an unreachable backend is run again one item at a
 * time, so one bad row cannot fail the others; an outage fails them all, as one call would.
 */
export class Batcher<I, O> {
  private waiting: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 200,
    /** Batches in flight at once: more than one lets a burst use several pooled connections. */
    private readonly parallel = 2,
    /** Whether a failed batch is worth running again item by item (not when the backend is unreachable). */
    private readonly retrySingly: (err: unknown) => boolean = (err) => !isDatabaseUnavailable(err),
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.parallel || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.running >= this.parallel || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.maxBatch);
    this.running++;
    try {
      const results = await this.runChecked(batch.map((b) => b.item));
      for (const [i, b] of batch.entries()) b.resolve(results[i]!);
    } catch (err) {
      if (batch.length === 1 || !this.retrySingly(err)) for (const b of batch) b.reject(err);
      else for (const b of batch) this.run([b.item]).then(([o]) => b.resolve(o!), b.reject);
    } finally {
      this.running--;
      this.schedule();
    }
  }

  private async runChecked(items: I[]): Promise<O[]> {
    const results = await this.run(items);
    if (results.length !== items.length) throw new Error(`batch answered ${results.length} of ${items.length}`);
    return results;
  }
}

/** One batcher per key (a pool, a worker's lease owner), made on first use. */
export function batcherPer<K extends object, I, O>(make: (key: K) => Batcher<I, O>): (key: K) => Batcher<I, O> {
  const batchers = new WeakMap<K, Batcher<I, O>>();
  return (key) => {
    let b = batchers.get(key);
    if (!b) {
      b = make(key);
      batchers.set(key, b);
    }
    return b;
  };
}
