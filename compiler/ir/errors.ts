/**
 * Errors raised inside the IR layer. These are compiler-internal invariants: a user's program
 * that reaches them has slipped past the type checker, so messages name the op and the shapes
 * involved rather than source text (the node's span, when known, is attached for context).
 */
import { formatShape } from '../../abi/shape.ts';
import type { Span } from './types.ts';

/** Base class of every error the IR layer throws. */
export class IRError extends Error {
  override name = 'IRError';
}

/** An op applied to operands (or attrs) whose shapes or dtypes its shape rule rejects. */
export class IRShapeError extends IRError {
  override name = 'IRShapeError';
  constructor(
    /** The op whose shape rule failed. */
    readonly op: string,
    /** The shapes of the operands (and, for shape ops, the requested shape), in order. */
    readonly shapes: readonly (readonly number[])[],
    /** What is wrong, without the op name and shapes. */
    readonly detail: string,
    readonly span?: Span,
  ) {
    super(`${op}: ${detail} (shapes ${shapes.map(formatShape).join(', ')})${span ? ` at ${formatSpan(span)}` : ''}`);
  }
}

/** A graph that breaks an invariant `verifyGraph` checks; lists every problem found. */
export class IRVerifyError extends IRError {
  override name = 'IRVerifyError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid graph:\n  ${problems.join('\n  ')}`);
  }
}

/** A failure while running the interpreter: missing or mis-sized feeds, out-of-range ids. */
export class IREvaluationError extends IRError {
  override name = 'IREvaluationError';
}

/** A bad `differentiate` request: unknown or frozen wrt, non-scalar loss, name clash. */
export class IRAutodiffError extends IRError {
  override name = 'IRAutodiffError';
}

export { formatShape };

export function formatSpan(span: Span): string {
  return `${span.file}:${span.line}:${span.col}`;
}
