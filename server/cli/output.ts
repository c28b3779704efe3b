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

/** Rows as aligned columns, the first row being the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
