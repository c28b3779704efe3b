import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import { appendEvent, recordProgress } from '../db/jobs.ts';
import { OrderedWrites } from './ordered-writes.ts';
import { RedactingStream, Redactor } from './redactor.ts';

type Stream = 'stdout' | 'stderr';

/** One process's output streams into the journal; `end` once the process has closed them. */
export interface ProcessOutput {
  stdout(chunk: string): void;
  stderr(chunk: string): void;
  end(): void;
}

const PROGRESS_LINE = /^::progress\s+(\d{1,3})(?:\s+(.*))?$/;
const FLUSH_MS = 200;
const MAX_CHUNK = 16_384;
const GAP_REASON = 'writes to the database fell behind by more than the output cap (it was unreachable or slow)';

/**
 * Writes one job's progress and output to its append-only history, in the
 * order they happened. Output is batched into chunks and capped; the cap is
 * marked in the history once, and later output is dropped. Secrets are taken
 * out of everything before it is stored (a process's streams as they flow, so a
 * secret split across writes is caught too).
 */
export class JobJournal {
  private chain: Promise<void> = Promise.resolve();
  private pending: { stream: Stream; text: string } | null = null;
  private partialLine = '';
  private written = 0;
  private truncated = false;
  private timer: NodeJS.Timeout | undefined;
  readonly redactor = new Redactor();

  constructor(
    private readonly db: Db,
    private readonly jobId: string,
    private readonly capBytes: number,
    private readonly log: Logger,
  ) {}

  private writes: OrderedWrites | undefined;

  /**
   * Serialises writes so sequence numbers follow the order of events, holding them through a
   * database outage. The backlog is bounded: output alone stays within the cap (plus the
   * truncation marker, progress a little more); past that, writes are dropped and marked with a
   * `gap` event.
   */
  private append(bytes: number, write: () => Promise<void>): Promise<void> {
    this.writes ??= new OrderedWrites(
      this.capBytes + MAX_CHUNK,
      (gap) => appendEvent(this.db, this.jobId, 'gap', { ...gap, reason: GAP_REASON }),
      this.log,
      this.jobId,
    );
    this.chain = this.writes.push(bytes, write);
    return this.chain;
  }

  /** Progress from a handler; its step text may name a secret. */
  progress(percent: number, step: string | null): Promise<void> {
    return this.record(percent, step === null ? null : this.redactor.redact(step));
  }

  /** Redacted before it is cut to length, so no cut can leave half a secret behind. */
  private record(percent: number, step: string | null): Promise<void> {
    this.flush();
    const p = Math.max(0, Math.min(100, Math.round(percent)));
    const text = step?.slice(0, 200) ?? null;
    return this.append(32 + (text?.length ?? 0), () => recordProgress(this.db, this.jobId, p, text));
  }

  /** A process's stdout and stderr, each redacted as a stream before it is parsed or batched. */
  process(): ProcessOutput {
    const stdout = new RedactingStream(this.redactor, (text) => this.stdoutLines(text));
    const stderr = new RedactingStream(this.redactor, (text) => this.buffer('stderr', text));
    return {
      stdout: (chunk) => stdout.write(chunk),
      stderr: (chunk) => stderr.write(chunk),
      end: () => {
        stdout.end();
        stderr.end();
      },
    };
  }

  /** Redacted stdout of a process: `::progress` lines become progress, the rest output. */
  private stdoutLines(chunk: string): void {
    const lines = (this.partialLine + chunk).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      const m = PROGRESS_LINE.exec(line);
      if (m) void this.record(Number(m[1]), m[2]?.trim() || null);
      else this.buffer('stdout', `${line}\n`);
    }
    if (this.partialLine.length > MAX_CHUNK) {
      this.buffer('stdout', this.partialLine);
      this.partialLine = '';
    }
  }

  /** Output a handler writes itself (e.g. an error it caught): whole messages, redacted here. */
  output(stream: Stream, text: string): void {
    this.buffer(stream, this.redactor.redact(text));
  }

  /** Batches text that is already redacted. */
  private buffer(stream: Stream, text: string): void {
    if (this.truncated) return;
    if (this.pending && this.pending.stream !== stream) this.flush();
    this.pending = { stream, text: (this.pending?.text ?? '') + text };
    if (this.pending.text.length >= MAX_CHUNK) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Secrets a handler handed to its processes; a chunk never carries them to the database. */
  redact(values: readonly string[]): void {
    this.redactor.add(values);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const chunk = this.pending;
    this.pending = null;
    if (!chunk || this.truncated) return;
    let text = chunk.text;
    const room = this.capBytes - this.written;
    if (Buffer.byteLength(text) > room) {
      text = `${Buffer.from(text).subarray(0, Math.max(0, room)).toString('utf8')}\n[output truncated: the ${this.capBytes}-byte cap was reached]\n`;
      this.truncated = true;
    }
    this.written += Buffer.byteLength(text);
    const data = { stream: chunk.stream, text, ...(this.truncated ? { truncated: true } : {}) };
    void this.append(Buffer.byteLength(text), () => appendEvent(this.db, this.jobId, 'output', data));
  }

  /** Writes whatever is still buffered and waits for every write. */
  async close(): Promise<void> {
    if (this.partialLine) this.buffer('stdout', this.partialLine);
    this.partialLine = '';
    this.flush();
    await this.chain;
  }
}
