/** Where a command writes; tests pass their own to capture output. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * One subcommand. `run` returns the exit code: 0 success, 1 the input has errors
 * (or the job failed), 2 usage errors. The library below never calls process.exit.
 */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  run(args: string[], io: CliIO): Promise<number>;
}

export class UsageError extends Error {}
