import { type IToken, Lexer } from 'chevrotain';
import type { Comment } from './ast.ts';
import { type SourceDiagnostic as Diagnostic, error } from './diagnostic.ts';
import type { LineIndex } from './span.ts';
import { UnterminatedString, allTokens } from './tokens.ts';

let lexer: Lexer | undefined;

export interface LexResult {
  tokens: IToken[];
  comments: Comment[];
  diagnostics: Diagnostic[];
}

function lexMessage(text: string, offset: number, length: number): string {
  const ch = text[offset] ?? '';
  if (ch === '"') return 'unterminated string: a string must end with " on the same line';
  if (ch === '^') return "unexpected character '^': write x^T to transpose, pow(x, y) for a power";
  if (ch === '/' && text[offset + 1] === '*') return "unexpected '/*': comments start with //";
  const shown = text.slice(offset, offset + Math.min(length, 10)).replace(/\s/g, ' ');
  return length > 1 ? `unexpected characters '${shown}'` : `unexpected character '${shown}'`;
}

/** Splits text into tokens; unknown characters become diagnostics and are skipped. */
export function tokenize(text: string, file: string, lines: LineIndex): LexResult {
  lexer ??= new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });
  const result = lexer.tokenize(text);
  const comments: Comment[] = (result.groups.comments ?? []).map((t) => ({
    text: t.image.replace(/\s+$/, ''),
    span: lines.span(file, t.startOffset, t.startOffset + t.image.length),
  }));
  const diagnostics = result.errors.map((e) => error(lexMessage(text, e.offset, e.length), lines.span(file, e.offset, e.offset + Math.max(1, e.length))));
  for (const t of result.tokens) {
    if (t.tokenType !== UnterminatedString) continue;
    diagnostics.push(error(lexMessage(text, t.startOffset, 1), lines.span(file, t.startOffset, t.startOffset + t.image.length)));
  }
  return { tokens: result.tokens, comments, diagnostics };
}
