import type { Logger } from '../config.ts';
import { holdThroughOutage } from './hold.ts';

export interface Gap {
  lostEvents: number;
  lostBytes: number;
}

/**
 * One job's history writes, run one at a time in the order given (so sequence numbers follow the
 * order of events), each held through a database outage rather than lost. What waits is bounded:
 * a write that would take the backlog past `maxBytes` is dropped, and in its place the history
 * gets one `gap` event saying how much was lost, so nothing disappears without a mark.
 */
export class OrderedWrites {
  private chain: Promise<void> = Promise.resolve();
  private backlog = 0;
  private gap: Gap | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly writeGap: (gap: Gap) => Promise<void>,
    private readonly log: Logger,
    private readonly jobId: string,
  ) {}

  /** Queues a write of about `bytes`; resolves when it (and everything before it) is done. */
  push(bytes: number, write: () => Promise<void>): Promise<void> {
    if (this.backlog + bytes > this.maxBytes) return this.drop(bytes);
    this.backlog += bytes;
    return this.run(write, () => {
      this.backlog -= bytes;
    });
  }

  private drop(bytes: number): Promise<void> {
    if (!this.gap) {
      const gap: Gap = { lostEvents: 0, lostBytes: 0 };
      this.gap = gap;
      this.run(() => {
        if (this.gap === gap) this.gap = null; // later drops start a gap of their own
        return this.writeGap(gap);
      });
    }
    this.gap!.lostEvents++;
    this.gap!.lostBytes += bytes;
    return this.chain;
  }

  private run(write: () => Promise<void>, done = () => {}): Promise<void> {
    this.chain = this.chain
      .then(() => holdThroughOutage(write, this.log, 'journal', { jobId: this.jobId }))
      .catch((err) => this.log.error({ err: String(err), jobId: this.jobId }, 'journal write failed'))
      .finally(done);
    return this.chain;
  }
}
