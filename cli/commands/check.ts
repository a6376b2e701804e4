import { existsSync, readFileSync, statSync } from 'node:fs';
import { type Diagnostic, checkSource, formatDiagnostic } from '../../compiler/index.ts';
import { type CliIO, type Command, UsageError } from '../command.ts';

/** Reads a file the checker asks for (imports); undefined when it is not a readable file. */
export function readSourceFile(path: string): string | undefined {
  try {
    return existsSync(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** Writes diagnostics the way compilers do: location, message, source line, caret. */
export function printDiagnostics(io: CliIO, diagnostics: Diagnostic[], sources: (file: string) => string | undefined): void {
  for (const d of diagnostics) io.err(formatDiagnostic(d, sources));
}

export const checkCommand: Command = {
  name: 'check',
  usage: 'check FILE...',
  summary: 'type-check .swag files (exit 0: clean, 1: errors, 2: usage)',
  async run(args: string[], io: CliIO): Promise<number> {
    const flags = args.filter((a) => a.startsWith('-'));
    if (flags.length > 0) throw new UsageError(`unknown option ${flags[0]}`);
    if (args.length === 0) throw new UsageError('no input files');
    const texts = new Map<string, string>();
    for (const file of args) {
      const text = readSourceFile(file);
      if (text === undefined) {
        const why = !existsSync(file) ? 'no such file' : statSync(file).isDirectory() ? 'it is a directory' : 'not readable';
        throw new UsageError(`cannot read ${file}: ${why}`);
      }
      texts.set(file, text);
    }
    let errors = 0;
    const reported = new Set<string>();
    for (const [file, text] of texts) {
      const result = checkSource(text, file, { readFile: readSourceFile });
      // An imported file checked from two inputs reports its errors once.
      const fresh = result.diagnostics.filter((d) => {
        const key = `${d.span.file}:${d.span.start.offset}:${d.message}`;
        if (reported.has(key)) return false;
        reported.add(key);
        return true;
      });
      printDiagnostics(io, fresh, (f) => result.sources.get(f));
      errors += fresh.filter((d) => d.severity === 'error').length;
    }
    if (errors > 0) io.err(`${errors} error${errors === 1 ? '' : 's'}\n`);
    else io.out(`${texts.size} file${texts.size === 1 ? '' : 's'} checked, no errors\n`);
    return errors > 0 ? 1 : 0;
  },
};
