import type { Expr } from '../syntax/ast.ts';
import { didYouMean } from '../syntax/did-you-mean.ts';
import { printExpr } from '../syntax/print-expr.ts';
import type { Span } from '../syntax/span.ts';
import { type Dim, dimAdd, dimConst, dimDiv, dimIsExact, dimMul, dimSub, withText } from './dim.ts';

/** Where size names are looked up, and what to do with a new one. */
export interface DimScope {
  lookup(name: string): Dim | undefined;
  /** Every size name in scope, for did-you-mean. */
  names(): Iterable<string>;
  /** Says what a non-size name is, if it is something else (`alpha is an f32 parameter`). */
  describe?(name: string): string | undefined;
  /** When set, an unknown plain name binds a new size (fn parameters: `x: [n, in]` binds n). */
  bind?(name: string): Dim;
}

export type Report = (message: string, span: Span) => void;

/** Divisions seen while converting, so the runtime can check that they are exact. */
export type DivisorSink = (divisor: Dim) => void;

/**
 * Converts a written size (`d`, `3 * d`, `d / h`, `half + half`) to a canonical dim. Reports and
 * returns undefined when the expression is not a size.
 */
export function toDim(e: Expr, scope: DimScope, report: Report, divisors?: DivisorSink): Dim | undefined {
  const text = printExpr(e).replace(/^\((.*)\)$/, '$1');
  const go = (x: Expr): Dim | undefined => {
    switch (x.kind) {
      case 'number':
        if (!x.isInt || !Number.isSafeInteger(x.value)) {
          report(`a size must be a whole number, not ${x.text}`, x.span);
          return undefined;
        }
        return dimConst(x.value);
      case 'name': {
        const name = x.path.text;
        const found = scope.lookup(name);
        if (found) return found;
        if (scope.bind && x.path.segments.length === 1 && name !== '') return scope.bind(name);
        const other = scope.describe?.(name);
        if (other) {
          report(`${name} is ${other}, not a dimension`, x.span);
          return undefined;
        }
        const guess = didYouMean(name, scope.names());
        report(`unbound dimension ${name}${guess ? `; did you mean ${guess}?` : ''}`, x.span);
        return undefined;
      }
      case 'binary': {
        if (x.op === '@') {
          report('a size cannot use @; sizes combine with + - * /', x.span);
          return undefined;
        }
        const a = go(x.left);
        const b = go(x.right);
        if (!a || !b) return undefined;
        let r: Dim | undefined;
        if (x.op === '+') r = dimAdd(a, b);
        else if (x.op === '-') r = dimSub(a, b);
        else if (x.op === '*') r = dimMul(a, b);
        else {
          r = b.terms.length === 0 ? undefined : dimDiv(a, b);
          if (!r) {
            report(`cannot divide a size by ${printExpr(x.right)}: divide by a product of dims and whole numbers`, x.right.span);
            return undefined;
          }
          divisors?.(b);
        }
        if (!dimIsExact(r)) {
          report('size too large', x.span);
          return undefined;
        }
        return r;
      }
      default:
        report(`expected a size (a dim name, a whole number, or + - * / of them) but found ${printExpr(x)}`, x.span);
        return undefined;
    }
  };
  const d = go(e);
  if (!d) return undefined;
  return e.kind === 'name' ? d : withText(d, text);
}

/** A scope over a plain map of sizes. */
export function mapScope(map: ReadonlyMap<string, Dim>, describe?: (name: string) => string | undefined): DimScope {
  return { lookup: (n) => map.get(n), names: () => map.keys(), ...(describe ? { describe } : {}) };
}

