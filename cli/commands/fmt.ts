import { writeFileSync } from 'node:fs';
import { formatSource } from '../../compiler/index.ts';
import { type CliIO, type Command, UsageError } from '../command.ts';
import { printDiagnostics, readSourceFile } from './check.ts';

export const fmtCommand: Command = {
  name: 'fmt',
  usage: 'fmt [--write | --check] FILE...',
  summary: 'format .swag files: print to stdout, rewrite in place (--write), or exit 1 if not formatted (--check)',
  async run(args: string[], io: CliIO): Promise<number> {
    const write = args.includes('--write');
    const checkOnly = args.includes('--check');
    const unknown = args.find((a) => a.startsWith('-') && a !== '--write' && a !== '--check');
    if (unknown) throw new UsageError(`unknown option ${unknown}`);
    if (write && checkOnly) throw new UsageError('--write and --check exclude each other');
    const files = args.filter((a) => !a.startsWith('-'));
    if (files.length === 0) throw new UsageError('no input file');
    if (files.length > 1 && !write && !checkOnly) throw new UsageError('formatting to stdout takes one file; use --write or --check for several');
    let status = 0;
    for (const file of files) {
      const text = readSourceFile(file);
      if (text === undefined) throw new UsageError(`cannot read ${file}`);
      const result = formatSource(text, file);
      if (result.diagnostics.length > 0) {
        printDiagnostics(io, result.diagnostics, (f) => (f === file ? text : undefined));
        io.err(`${file}: not formatted because of syntax errors\n`);
        status = 1;
        continue;
      }
      if (checkOnly) {
        if (result.text !== text) {
          io.err(`${file}: not formatted (run swaglet fmt --write ${file})\n`);
          status = 1;
        }
      } else if (write) {
        if (result.text !== text) writeFileSync(file, result.text);
      } else io.out(result.text);
    }
    return status;
  },
};
