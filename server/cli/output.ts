/** `--json`: every command prints one JSON document (the API's answer) instead of its table or sentence. */
export interface OutputOptions {
  json?: boolean | undefined;
}

export function emit(o: OutputOptions, data: unknown, human: string | (() => string)): void {
  if (o.json) console.log(JSON.stringify(data, null, 2));
  else console.log(typeof human === 'function' ? human() : human);
}

/** For a stream (`logs -f --json`): one compact JSON object per line. */
export const emitLine = (data: unknown) => console.log(JSON.stringify(data));
