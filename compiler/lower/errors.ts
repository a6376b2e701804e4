/**
 * What goes wrong while lowering, as values. A user's program that checked clean can still fail
 * to lower once sizes are known: a size nobody binds, a derived size that does not divide, a
 * dropout rate that is not a constant. Those are `LowerDiagnostic`s with the source span, returned
 * by `lowerProgram` (never thrown at the caller). Inside the lowering they travel as `LowerError`
 * exceptions to the one place that turns them into values.
 */
import type { Diagnostic } from '../syntax/diagnostic.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';

/** What kind of problem: the user's sizes or request, or something the IR cannot express yet. */
export type LowerErrorCode =
  /** A dimension has no value: not in the request, no default, not given by the finetune. */
  | 'unbound-dim'
  /** A derived dimension (`dim dh = d / h`) or a size expression is not a whole number. */
  | 'inexact-division'
  /** A size that must be a positive whole number is not (a request value, an extent). */
  | 'bad-size'
  /** The request names nothing in the program, or a scalar without a value. */
  | 'bad-request'
  /** The program uses something the IR cannot express (i32 arithmetic, a non-constant dropout rate). */
  | 'unsupported'
  /** A bug: the checked program or the IR disagreed with the lowering's expectations. */
  | 'internal';

/** The one Diagnostic type (syntax/diagnostic.ts), with the lowering's code; `span` where the problem has a place. */
export type LowerDiagnostic = Diagnostic & { severity: 'error'; code: LowerErrorCode };

export class LowerError extends Error {
  override name = 'LowerError';
  constructor(
    readonly code: LowerErrorCode,
    message: string,
    readonly span?: SourceSpan,
  ) {
    super(message);
  }

  toDiagnostic(): LowerDiagnostic {
    return { severity: 'error', code: this.code, message: this.message, ...(this.span ? { span: this.span } : {}) };
  }
}

/** `file:line:col: message`, the form the checker's diagnostics use. */
export function formatLowerDiagnostic(d: LowerDiagnostic): string {
  return d.span ? `${d.span.file}:${d.span.start.line}:${d.span.start.col}: error: ${d.message}` : `error: ${d.message}`;
}
