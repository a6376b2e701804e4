import { type CliIO, type Command, UsageError, processIO } from './command.ts';
import { commands } from './commands/index.ts';

function help(io: CliIO, list: Command[]): void {
  io.out('swaglet — a tensor-DSL compiler for Bayesian low-rank adaptation\n\nUsage:\n');
  const width = Math.max(...list.map((c) => c.usage.length));
  for (const c of list) io.out(`  swaglet ${c.usage.padEnd(width)}  ${c.summary}\n`);
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    help(io, commands);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`swaglet: unknown command '${name}'\n`);
    help(io, commands);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`swaglet ${command.name}: ${e.message}\nusage: swaglet ${command.usage}\n`);
      return 2;
    }
    // Errors the library knows how to describe carry a clean message; print it, not a stack.
    const message = e instanceof Error ? e.message : String(e);
    io.err(`swaglet ${command.name}: ${message}\n`);
    if (process.env.SWAGLET_DEBUG) io.err(`${(e as Error).stack}\n`);
    return 1;
  }
}
