import type { Arg, Expr, TypeExpr } from './ast.ts';

/** Binding strength: a child binding more loosely than its context needs parentheses. */
function precedence(e: Expr): number {
  switch (e.kind) {
    case 'binary':
      return e.op === '+' || e.op === '-' ? 1 : 2;
    case 'neg':
      return 3;
    case 'transpose':
      return 4;
    default:
      return 5;
  }
}

function wrap(e: Expr, needed: boolean): string {
  const text = printExprBare(e);
  return e.parens || needed ? `(${text})` : text;
}

/** The expression as it would be written, without its own outer parentheses. */
function printExprBare(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.text;
    case 'bool':
      return e.value ? 'true' : 'false';
    case 'name':
      return e.path.text;
    case 'list':
      return `[${e.items.map(printExpr).join(', ')}]`;
    case 'call':
      return `${e.callee.text}(${e.args.map(printArg).join(', ')})`;
    case 'neg':
      return `-${wrap(e.operand, precedence(e.operand) < 3)}`;
    case 'transpose':
      return `${wrap(e.operand, precedence(e.operand) < 4)}^T`;
    case 'binary': {
      const p = precedence(e);
      return `${wrap(e.left, precedence(e.left) < p)} ${e.op} ${wrap(e.right, precedence(e.right) <= p)}`;
    }
  }
}

/** Prints an expression on one line, with the parentheses the source had (and any it needs). */
export function printExpr(e: Expr): string {
  return wrap(e, false);
}

export function printArg(a: Arg): string {
  return a.name ? `${a.name.name}: ${printExpr(a.value)}` : printExpr(a.value);
}

export function printType(t: TypeExpr): string {
  if (t.kind === 'dim') return 'dim';
  const shape = t.shape === null ? '' : `[${t.shape.map(printExpr).join(', ')}]`;
  return `${t.elem ?? ''}${shape}`;
}

/** A one-line rendering for messages, shortened in the middle when long. */
export function exprSnippet(e: Expr, max = 40): string {
  const text = printExpr(e);
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
