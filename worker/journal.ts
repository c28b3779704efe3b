import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import { appendEvent, recordProgress } from '../db/jobs.ts';

type Stream = 'stdout' | 'stderr';

const PROGRESS_LINE = /^::progress\s+(\d{1,3})(?:\s+(.*))?$/;
const FLUSH_MS = 200;
const MAX_CHUNK = 16_384;

/**
 * Writes one job's progress and output to its append-only history, in the
 * order they happened. Output is batched into chunks and capped; the cap is
 * marked in the history once, and later output is dropped.
 */
export class JobJournal {
  private chain: Promise<void> = Promise.resolve();
  private pending: { stream: Stream; text: string } | null = null;
  private partialLine = '';
  private written = 0;
  private truncated = false;
  private timer: NodeJS.Timeout | undefined;
  private secrets: string[] = [];

  constructor(
    private readonly db: Db,
    private readonly jobId: string,
    private readonly capBytes: number,
    private readonly log: Logger,
  ) {}

  /** Serialises writes so sequence numbers follow the order of events. */
  private append(write: () => Promise<void>): Promise<void> {
    this.chain = this.chain
      .then(write)
      .catch((err) => this.log.error({ err, jobId: this.jobId }, 'journal write failed'));
    return this.chain;
  }

  progress(percent: number, step: string | null): Promise<void> {
    this.flush();
    const p = Math.max(0, Math.min(100, Math.round(percent)));
    return this.append(() => recordProgress(this.db, this.jobId, p, step?.slice(0, 200) ?? null));
  }

  /** Raw stdout of a process: `::progress` lines become progress, the rest output. */
  stdout(chunk: string): void {
    const lines = (this.partialLine + chunk).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      const m = PROGRESS_LINE.exec(line);
      if (m) void this.progress(Number(m[1]), m[2]?.trim() || null);
      else this.output('stdout', `${line}\n`);
    }
    if (this.partialLine.length > MAX_CHUNK) {
      this.output('stdout', this.partialLine);
      this.partialLine = '';
    }
  }

  output(stream: Stream, text: string): void {
    if (this.truncated) return;
    if (this.pending && this.pending.stream !== stream) this.flush();
    this.pending = { stream, text: (this.pending?.text ?? '') + text };
    if (this.pending.text.length >= MAX_CHUNK) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Secrets a handler handed to its processes; a chunk never carries them to the database. */
  redact(values: readonly string[]): void {
    this.secrets.push(...values.filter((v) => v.length >= 4));
    this.secrets.sort((a, b) => b.length - a.length); // a longer secret may contain a shorter one
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const chunk = this.pending;
    this.pending = null;
    if (!chunk || this.truncated) return;
    let text = this.secrets.reduce((t, secret) => t.replaceAll(secret, '[secret]'), chunk.text);
    const room = this.capBytes - this.written;
    if (Buffer.byteLength(text) > room) {
      text = `${Buffer.from(text).subarray(0, Math.max(0, room)).toString('utf8')}\n[output truncated: the ${this.capBytes}-byte cap was reached]\n`;
      this.truncated = true;
    }
    this.written += Buffer.byteLength(text);
    const data = { stream: chunk.stream, text, ...(this.truncated ? { truncated: true } : {}) };
    void this.append(() => appendEvent(this.db, this.jobId, 'output', data));
  }

  /** Writes whatever is still buffered and waits for every write. */
  async close(): Promise<void> {
    if (this.partialLine) this.output('stdout', this.partialLine);
    this.partialLine = '';
    this.flush();
    await this.chain;
  }
}
