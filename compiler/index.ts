/**
 * The swaglet compiler. One `.swag` file goes through these stages (docs/compiler.md draws them):
 *
 *   syntax/     parse: text → AST with spans; format; diagnostics and how they print
 *   types/      check: AST → typed program (symbolic dims, builtins)
 *   lower/      typed program + sizes → one IR graph per method
 *   ir/         the tensor IR: ops (ir/ops/: primitive, then fused on top; attrs typed by each op's
 *               schema), builder, verifier, interpreter, autodiff
 *   passes/     graph → graph: simplify, splitFrozenPrefix, fusion passes; planMemory
 *   schedule/   fused graph → kernel launches (calling codegen/wgsl/ for the WGSL text)
 *   codegen/    WGSL generation, a leaf
 *   emit/       layout (schedule + memory plan → Program) and the typed TS bindings
 *   pipeline.ts every stage from simplify to layout, in order, with verify and dumps
 *   compile.ts  the driver: source → bindings, WGSL, IR (`compileSwag`, `swaglet compile`)
 *
 * This module exports the front end (the driver lives in compile.ts, which loads ts-morph):
 * parse, check, format, and render diagnostics.
 *
 *     const parsed = parse(text, 'lora.swag');          // AST + syntax diagnostics
 *     const checked = check(parsed, { readFile });      // typed program + diagnostics
 *     for (const d of checked.diagnostics) process.stderr.write(formatDiagnostic(d, (f) => checked.sources.get(f)));
 *     const pretty = format(parsed.ast, parsed.comments);
 *
 * The typed program (`CheckedProgram`) is what the next stage (lowering to the tensor IR) reads.
 */
export type * from './syntax/ast.ts';
export { type Diagnostic, type DiagnosticNote, type SourceDiagnostic, type SourceLookup, formatDiagnostic } from './syntax/diagnostic.ts';
export { format } from './syntax/format.ts';
export { type ParseResult, parse } from './syntax/parse.ts';
export { printExpr } from './syntax/print-expr.ts';
export type { Position, Span } from './syntax/span.ts';
export { BUILTINS, OPERATORS, type ArgKind, type Builtin, type OpParam } from './types/builtins.ts';
export { type CheckOptions, type CheckResult, check, checkSource } from './types/check.ts';
export { type Dim, type DimTerm, canonicalText, dimEquals, evalDim } from './types/dim.ts';
export { type ElemType, type TensorType, showType } from './types/tensor-type.ts';
export type * from './types/typed-program.ts';

import { type Diagnostic } from './syntax/diagnostic.ts';
import { format as formatAst } from './syntax/format.ts';
import { parse as parseText } from './syntax/parse.ts';

/** Formats source text; when it has syntax errors, returns them instead (nothing is formatted). */
export function formatSource(text: string, file = '<input>'): { text: string; diagnostics: Diagnostic[] } {
  const parsed = parseText(text, file);
  if (parsed.diagnostics.length > 0) return { text, diagnostics: parsed.diagnostics };
  return { text: formatAst(parsed.ast, parsed.comments), diagnostics: [] };
}
