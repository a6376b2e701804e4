import { posix } from 'node:path';
import type * as A from '../syntax/ast.ts';
import { type SourceDiagnostic as Diagnostic, sortDiagnostics } from '../syntax/diagnostic.ts';
import { type ParseResult, parse } from '../syntax/parse.ts';
import { BodyChecker } from './check-body.ts';
import { checkFinetune } from './check-finetune.ts';
import { checkPosterior } from './check-posterior.ts';
import { CheckContext, type TopDecl } from './context.ts';
import type { CheckedProgram, TypedBlock } from './typed-program.ts';

export interface CheckOptions {
  /**
   * Reads an imported file (path relative to the working directory, as `posix.join` of the
   * importing file's directory and the import). Undefined when it does not exist. Without it,
   * imports are reported as unavailable.
   */
  readFile?: (path: string) => string | undefined;
}

export interface CheckResult {
  /** Complete only when `diagnostics` has no errors. */
  program: CheckedProgram;
  /** Syntax errors of every file read, else type errors, in source order. */
  diagnostics: Diagnostic[];
  /** The text of every file read (the entry and its imports), for rendering diagnostics. */
  sources: Map<string, string>;
  /** Every file parsed, entry first. */
  files: ParseResult[];
}

/** Parses the files `entry` imports, transitively; each file once. */
function loadImports(entry: ParseResult, options: CheckOptions, diagnostics: Diagnostic[]): ParseResult[] {
  const files = [entry];
  const seen = new Set([posix.normalize(entry.file)]);
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    for (const d of file.ast.decls) {
      if (d.kind !== 'import') continue;
      if (d.path.trim() === '') {
        diagnostics.push({ severity: 'error', message: 'an import needs a file name, such as import "lora.swag"', span: d.pathSpan });
        continue;
      }
      const path = posix.normalize(posix.join(posix.dirname(file.file), d.path));
      if (seen.has(path)) continue;
      seen.add(path);
      const text = options.readFile?.(path);
      if (text === undefined) {
        diagnostics.push({
          severity: 'error',
          message: options.readFile ? `cannot find the imported file ${d.path} (looked for ${path})` : `cannot import ${d.path}: no file access here`,
          span: d.pathSpan,
        });
        continue;
      }
      files.push(parse(text, path));
    }
  }
  return files;
}

/**
 * Type-checks a parsed file and everything it imports. Checking stops after parsing when any
 * file has syntax errors. Never throws for any input; problems come back as diagnostics.
 */
export function check(entry: ParseResult, options: CheckOptions = {}): CheckResult {
  const ctx = new CheckContext();
  const files = loadImports(entry, options, ctx.diagnostics);
  const sources = new Map(files.map((f) => [f.file, f.text]));
  const program: CheckedProgram = { adapters: [], blocks: [], models: [], posteriors: [], finetunes: [], ops: [] };
  const syntax = files.flatMap((f) => f.diagnostics);
  if (syntax.length > 0) return { program, diagnostics: sortDiagnostics([...syntax, ...ctx.diagnostics]), sources, files };

  const all: TopDecl[] = files.flatMap((f) => f.ast.decls.filter((d): d is TopDecl => d.kind !== 'import'));
  for (const d of all) {
    if (!d.name.name) continue;
    const first = ctx.decls.get(d.name.name);
    if (first) ctx.error(`duplicate declaration ${d.name.name}`, d.name.span, [{ message: `${d.name.name} is first declared here`, span: first.name.span }]);
    else ctx.decls.set(d.name.name, d);
  }
  const bodies = new BodyChecker(ctx);
  const declared = [...ctx.decls.values()];
  for (const d of declared) {
    if (d.kind === 'adapter' || d.kind === 'block' || d.kind === 'model') {
      const typed = bodies.body(d).typed;
      if (typed?.kind === 'adapter') program.adapters.push(typed);
      else if (typed?.kind === 'block') program.blocks.push(typed as TypedBlock);
      else if (typed?.kind === 'model') program.models.push(typed as TypedBlock);
    } else if (d.kind === 'posterior') {
      const typed = checkPosterior(ctx, d);
      ctx.posteriors.set(d.name.name, typed);
      program.posteriors.push(typed);
    }
  }
  for (const d of declared) {
    if (d.kind !== 'finetune') continue;
    const typed = checkFinetune(ctx, bodies, d as A.FinetuneDecl);
    if (typed) program.finetunes.push(typed);
  }
  program.ops = [...ctx.ops].map(([op, count]) => ({ op, count })).sort((a, b) => (a.op < b.op ? -1 : 1));
  return { program, diagnostics: sortDiagnostics(ctx.diagnostics), sources, files };
}

/** Parses and checks source text in one step. */
export function checkSource(text: string, file = '<input>', options: CheckOptions = {}): CheckResult {
  return check(parse(text, file), options);
}
