/** An error whose message is meant for the person at the terminal; printed without a stack. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Runs a CLI's main and exits with its code. A CliError is a sentence for the user (no stack);
 * anything else is a bug, and its stack is what a bug report needs.
 */
export function runMain(main: () => Promise<number>, known: (err: unknown) => boolean = () => false): void {
  main().then(
    (code) => process.exit(code),
    (err) => {
      const readable = err instanceof CliError || known(err);
      console.error(`deckhand: ${readable ? (err as Error).message : (err?.stack ?? err)}`);
      process.exit(err instanceof CliError ? err.exitCode : readable ? 2 : 1);
    },
  );
}
