import { EOF, type IRecognitionException, type IToken } from 'chevrotain';
import type { Comment, SourceFile } from './ast.ts';
import { AstBuilder } from './build-ast.ts';
import { type SourceDiagnostic as Diagnostic, type DiagnosticNote, error, sortDiagnostics } from './diagnostic.ts';
import { tokenize } from './lexer.ts';
import { swagletParser } from './parser.ts';
import { LCurly, RCurly } from './tokens.ts';
import { LineIndex, type Span } from './span.ts';

/** What `parse` returns: the tree (partial if there were errors), the comments and every syntax error. */
export interface ParseResult {
  file: string;
  text: string;
  ast: SourceFile;
  comments: Comment[];
  /** Lexer and parser errors, in source order. When non-empty, `ast` is best-effort only. */
  diagnostics: Diagnostic[];
}

/**
 * Where to point for a parser error. "Expected X but found Y" on a later line than the previous
 * token is reported just after that previous token: a missing `)` belongs at the end of its line.
 */
function errorSpan(e: IRecognitionException, tokens: IToken[], file: string, lines: LineIndex, textLength: number): Span {
  const t = e.token;
  const real = t && t.tokenType !== EOF && Number.isFinite(t.startOffset);
  const offset = real ? t.startOffset : textLength;
  if (e.name === 'MismatchedTokenException' || !real) {
    let prev: IToken | undefined;
    for (const tok of tokens) {
      if (tok.startOffset >= offset) break;
      prev = tok;
    }
    if (prev) {
      const prevEnd = prev.startOffset + prev.image.length;
      if (!real || lines.position(prevEnd).line < lines.position(offset).line) return lines.span(file, prevEnd, prevEnd);
    }
  }
  return real ? lines.span(file, t.startOffset, t.startOffset + t.image.length) : lines.span(file, textLength, textLength);
}

/**
 * For "expected '}'": which `{` is probably not closed. A `}` left of the indentation of the line
 * whose `{` it matches most likely closes an outer block, so that `{` is the suspect; else the
 * innermost `{` still open.
 */
function unclosedBrace(tokens: IToken[], before: number, file: string, lines: LineIndex): DiagnosticNote | undefined {
  const open: IToken[] = [];
  for (const t of tokens) {
    if (t.startOffset >= before) break;
    if (t.tokenType === LCurly) open.push(t);
    else if (t.tokenType === RCurly) {
      const o = open.pop();
      if (!o) continue;
      const indent = (lines.lineText(o.startLine ?? 1).match(/^[ \t]*/)?.[0].length ?? 0) + 1;
      if ((t.startColumn ?? 1) < indent) {
        const message = `this '{' is probably not closed: the '}' on line ${t.startLine} is left of its line's indentation`;
        return { message, span: lines.span(file, o.startOffset, o.startOffset + 1) };
      }
    }
  }
  const o = open[open.length - 1];
  return o ? { message: "this '{' is not closed", span: lines.span(file, o.startOffset, o.startOffset + 1) } : undefined;
}

/** How deep brackets and prefix/postfix operators may nest, and how deep an expression tree may be. */
export const MAX_NESTING = 100;
export const MAX_EXPR_DEPTH = 400;

/**
 * Refuses input nested so deeply that parsing or checking it would exhaust the stack: brackets
 * nested more than MAX_NESTING levels, or runs of more than MAX_NESTING `-` or `^T`.
 */
function nestingError(tokens: IToken[], file: string, lines: LineIndex): Diagnostic | undefined {
  let depth = 0;
  let run = 0;
  let prev: IToken | undefined;
  for (const t of tokens) {
    const image = t.image;
    if (image === '(' || image === '[' || image === '{') depth++;
    else if (image === ')' || image === ']' || image === '}') depth = Math.max(0, depth - 1);
    run = (image === '-' || image === '^T') && prev?.image === image ? run + 1 : 0;
    prev = t;
    if (depth > MAX_NESTING || run > MAX_NESTING) {
      const what = depth > MAX_NESTING ? `brackets nested more than ${MAX_NESTING} deep` : `more than ${MAX_NESTING} '${image}' in a row`;
      return error(`${what}: this is not parsed; split it up with let`, lines.span(file, t.startOffset, t.startOffset + image.length));
    }
  }
  return undefined;
}

/** The first expression deeper than MAX_EXPR_DEPTH (long chains such as `x + x + ... + x`), if any. */
function tooDeep(ast: SourceFile): Diagnostic | undefined {
  // Iterative on purpose: a recursive walk would overflow on exactly the trees it looks for.
  const stack: { node: unknown; depth: number; inExpr: boolean }[] = [{ node: ast, depth: 0, inExpr: false }];
  while (stack.length > 0) {
    const { node, depth, inExpr } = stack.pop()!;
    if (Array.isArray(node)) {
      for (const x of node) stack.push({ node: x, depth, inExpr });
      continue;
    }
    if (!node || typeof node !== 'object') continue;
    const n = node as Record<string, unknown>;
    const isExpr = typeof n.kind === 'string' && ['binary', 'neg', 'transpose', 'call', 'list'].includes(n.kind as string);
    const d = isExpr || inExpr ? depth + 1 : 0;
    if (d > MAX_EXPR_DEPTH) return error(`expression nested more than ${MAX_EXPR_DEPTH} levels deep: split it up with let`, n.span as Span);
    for (const [k, v] of Object.entries(n)) if (k !== 'span' && v && typeof v === 'object') stack.push({ node: v, depth: d, inExpr: inExpr || isExpr });
  }
  return undefined;
}

/** Parses one file. Never throws for any input text; problems come back as diagnostics. */
export function parse(text: string, file = '<input>'): ParseResult {
  const lines = new LineIndex(text);
  const lexed = tokenize(text, file, lines);
  const nesting = nestingError(lexed.tokens, file, lines);
  if (nesting) {
    const ast: SourceFile = { kind: 'file', file, decls: [], span: lines.span(file, 0, text.length) };
    return { file, text, ast, comments: lexed.comments, diagnostics: sortDiagnostics([...lexed.diagnostics, nesting]) };
  }
  const parser = swagletParser();
  parser.input = lexed.tokens;
  const cst = parser.file();
  const parseErrors = parser.errors.map((e) => {
    const span = errorSpan(e, lexed.tokens, file, lines, text.length);
    const note = e.message.startsWith("expected '}'") ? unclosedBrace(lexed.tokens, span.start.offset, file, lines) : undefined;
    return error(e.message, span, note ? [note] : undefined);
  });
  const builder = new AstBuilder(file, lines, text.length);
  const ast = builder.file(cst, text.length);
  // One mistake, one message: a parser error already names the token a stray run starts at, and
  // an unterminated string ate the rest of its line, so what fails after it on that line follows.
  const errorAt = new Set(parser.errors.map((e) => e.token?.startOffset));
  const eaten = lexed.diagnostics.filter((d) => d.message.startsWith('unterminated string')).map((d) => d.span.start);
  const follows = (d: Diagnostic) => eaten.some((p) => d.span.start.line === p.line && d.span.start.offset > p.offset);
  const strays = builder.diagnostics.filter((d) => !errorAt.has(d.span.start.offset));
  const deep = tooDeep(ast);
  const diagnostics = sortDiagnostics([...lexed.diagnostics, ...parseErrors, ...strays, ...(deep ? [deep] : [])].filter((d) => !follows(d)));
  return { file, text, ast, comments: lexed.comments, diagnostics };
}
