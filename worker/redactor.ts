/** What a secret becomes wherever a job's text is stored: output, progress, step, error and result. */
export const SECRET_MARK = '[secret]';

/** Shorter values would blank out ordinary words; a handler must not register such secrets. */
const MIN_SECRET = 4;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * The secrets of one job and how to take them out of text. Every occurrence is
 * replaced, and overlapping occurrences of different secrets become one mark, so
 * no part of either is left between two marks.
 */
export class Redactor {
  private secrets: string[] = [];

  add(values: readonly string[]): void {
    const fresh = values.filter((v) => v.length >= MIN_SECRET && !this.secrets.includes(v));
    this.secrets.push(...new Set(fresh));
  }

  /**
   * Where the part of a stream's text that must wait for more begins: the
   * earliest of its last (longest secret - 1) characters from which the rest
   * could be the start of a secret. Text that cannot is let through at once.
   */
  heldFrom(text: string): number {
    const longest = this.secrets.reduce((n, s) => Math.max(n, s.length), 0);
    for (let at = Math.max(0, text.length - longest + 1); at < text.length; at++) {
      const tail = text.slice(at);
      if (this.secrets.some((s) => s.length > tail.length && s[0] === tail[0] && s.startsWith(tail))) return at;
    }
    return text.length;
  }

  redact(text: string): string {
    return this.settle(text, text.length).done;
  }

  /**
   * Redacts `text` up to `cut` (every secret that starts before it ends inside
   * `text`), and returns the rest, which a later write may complete.
   */
  settle(text: string, cut: number): { done: string; rest: string } {
    if (cut > 0 && cut < text.length && isHighSurrogate(text.charCodeAt(cut - 1))) cut -= 1; // never split a character
    const spans: [number, number][] = [];
    for (const secret of this.secrets) {
      for (let at = text.indexOf(secret); at !== -1 && at < cut; at = text.indexOf(secret, at + 1)) {
        spans.push([at, at + secret.length]);
      }
    }
    spans.sort((a, b) => a[0] - b[0]);
    let done = '';
    let pos = 0;
    for (const [start, end] of spans) {
      if (end <= pos) continue;
      done += start >= pos ? `${text.slice(pos, start)}${SECRET_MARK}` : ''; // an overlap extends the mark before it
      pos = end;
    }
    const stop = Math.max(pos, cut);
    return { done: done + text.slice(pos, stop), rest: text.slice(stop) };
  }

  /** A job's result: every string in it, keys included, redacted. */
  redactDeep(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.redact(k), this.redactDeep(v)]));
    }
    return value;
  }
}

/**
 * One stream of a process (stdout or stderr), redacted before anything else
 * sees it. A secret may arrive split across writes, so a tail that could be the
 * start of one (at most the longest secret minus one character) waits for the
 * next write, or for the end of the stream.
 */
export class RedactingStream {
  private held = '';

  constructor(
    private readonly redactor: Redactor,
    private readonly emit: (text: string) => void,
  ) {}

  write(chunk: string): void {
    const text = this.held + chunk;
    const { done, rest } = this.redactor.settle(text, this.redactor.heldFrom(text));
    this.held = rest;
    if (done) this.emit(done);
  }

  /** The stream has closed: nothing can complete what is held, so it goes out redacted. */
  end(): void {
    const text = this.held;
    this.held = '';
    if (text) this.emit(this.redactor.redact(text));
  }
}
