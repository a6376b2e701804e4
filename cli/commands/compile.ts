import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compileSwag, irText, wgslText } from '../../compiler/compile.ts';
import { dumpToDirectory } from '../../compiler/pipeline.ts';
import { parseArgs } from '../args.ts';
import { type CliIO, type Command, UsageError } from '../command.ts';
import { readSourceFile } from './check.ts';

const EMITS = ['ir', 'wgsl', 'ts'] as const;

/** Collects every value of a repeatable `--name value` / `--name=value` flag, and the other args. */
function splitRepeated(args: readonly string[], names: readonly string[]): { values: Map<string, string[]>; rest: string[] } {
  const values = new Map<string, string[]>(names.map((n) => [n, []]));
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = names.find((n) => arg === `--${n}` || arg.startsWith(`--${n}=`));
    if (!name) {
      rest.push(arg);
      continue;
    }
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    values.get(name)!.push(value);
  }
  return { values, rest };
}

function parseDims(specs: readonly string[]): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const spec of specs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(spec);
    if (!m) throw new UsageError(`--dim ${spec}: expected NAME=N with N a positive whole number`);
    const v = Number(m[2]);
    if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`--dim ${spec}: the size must be a positive whole number`);
    dims[m[1]!] = v;
  }
  return dims;
}

export const compileCommand: Command = {
  name: 'compile',
  usage: 'compile FILE [--out DIR] [--emit ir|wgsl|ts] [--dump-ir DIR] ...',
  summary: 'compile to WGSL kernels and typed TypeScript; also --entry NAME, --dim k=N (repeatable), --target gpu|cpu (cpu for llvmpipe), --runtime-import SPEC, --dump-ir DIR (the IR after every stage, per unit and method)',
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, rest } = splitRepeated(args, ['entry', 'dim']);
    const { positional, flags } = parseArgs(rest, ['out', 'emit', 'target', 'runtime-import', 'dump-ir']);
    if (positional.length === 0) throw new UsageError('no input file');
    if (positional.length > 1) throw new UsageError(`one input file at a time (got ${positional.length})`);
    const file = positional[0]!;
    const out = flags.get('out') as string | undefined;
    const emit = flags.get('emit') as string | undefined;
    if (emit !== undefined && !(EMITS as readonly string[]).includes(emit)) throw new UsageError(`--emit ${emit}: expected one of ${EMITS.join(', ')}`);
    const dumpIr = flags.get('dump-ir') as string | undefined;
    if (dumpIr !== undefined && (dumpIr === '' || existsSync(dumpIr) && !statSync(dumpIr).isDirectory())) throw new UsageError(`--dump-ir ${dumpIr}: expected a directory`);
    if (out === undefined && emit === undefined && dumpIr === undefined) throw new UsageError('nothing to do: give --out DIR, --emit ir|wgsl|ts or --dump-ir DIR');
    const target = (flags.get('target') as string | undefined) ?? 'gpu';
    if (target !== 'gpu' && target !== 'cpu') throw new UsageError(`--target ${target}: expected gpu or cpu`);
    const dims = parseDims(values.get('dim')!);
    const text = readSourceFile(file);
    if (text === undefined) throw new UsageError(`cannot read ${file}: ${!existsSync(file) ? 'no such file' : statSync(file).isDirectory() ? 'it is a directory' : 'not readable'}`);

    const runtimeImport = flags.get('runtime-import') as string | undefined;
    const result = compileSwag(text, file, {
      readFile: readSourceFile,
      target,
      dims,
      ...(values.get('entry')!.length ? { entries: values.get('entry')! } : {}),
      ...(runtimeImport ? { runtimeImport } : {}),
      // One folder per unit and method: <DIR>/<unit>.<method>/NN-stage.ir, numbered in stage order.
      ...(dumpIr !== undefined ? { dump: (unit: string, method: string) => dumpToDirectory(join(dumpIr, `${unit}.${method}`)) } : {}),
    });
    for (const n of result.notes) io.err(`${n}\n`);
    if (!result.ok) {
      for (const d of result.diagnostics) io.err(d.endsWith('\n') ? d : `${d}\n`);
      if (result.diagnostics.some((d) => / has no value/.test(d))) io.err('help: give sizes with --dim NAME=N\n');
      const n = result.diagnostics.length;
      io.err(`${n} error${n === 1 ? '' : 's'}\n`);
      return 1;
    }

    if (emit === 'ts') io.out(result.bindings);
    else if (emit === 'ir') io.out(irText(result));
    else if (emit === 'wgsl') io.out(wgslText(result));

    if (out !== undefined) {
      const stem = basename(file).replace(/\.swag$/, '');
      const written: string[] = [];
      const write = (path: string, body: string) => {
        const full = join(out, path);
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, body);
        written.push(full);
      };
      write(`${stem}.ts`, result.bindings);
      write(`${stem}.ir.txt`, irText(result));
      for (const f of result.wgsl) write(f.path, f.text);
      const summary = result.units.map((u) => `${u.name} (${Object.keys(u.methods).map((m) => `${m}: ${u.methods[m as keyof typeof u.methods]!.steps.length} launches`).join(', ')})`).join('; ');
      // Keep stdout clean for the stage when --emit is given too.
      const say = emit === undefined ? io.out : io.err;
      say(`compiled ${file} (target ${target}): ${summary}\n`);
      say(`wrote ${join(out, `${stem}.ts`)}\nwrote ${join(out, `${stem}.ir.txt`)}\nwrote ${result.wgsl.length} kernel${result.wgsl.length === 1 ? '' : 's'} to ${join(out, 'wgsl')}/\n`);
    }
    return 0;
  },
};
