import type { Expr } from '../syntax/ast.ts';

const FUNCTIONS: Record<string, (x: number) => number> = {
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  abs: Math.abs,
  sqr: (x) => x * x,
  sin: Math.sin,
  cos: Math.cos,
};

/**
 * Folds a constant expression (`16`, `-1e9`, `sqrt(5)`, `1 / 3`) to a number; undefined when it
 * refers to anything that is not a literal. `names` supplies values for known constants.
 */
export function constValue(e: Expr, names?: ReadonlyMap<string, number>): number | undefined {
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'neg': {
      const v = constValue(e.operand, names);
      return v === undefined ? undefined : -v;
    }
    case 'binary': {
      const a = constValue(e.left, names);
      const b = constValue(e.right, names);
      if (a === undefined || b === undefined) return undefined;
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return a / b;
        default:
          return undefined;
      }
    }
    case 'call': {
      const f = Object.hasOwn(FUNCTIONS, e.callee.text) ? FUNCTIONS[e.callee.text] : undefined;
      if (!f || e.args.length !== 1 || e.args[0]!.name) return undefined;
      const v = constValue(e.args[0]!.value, names);
      return v === undefined ? undefined : f(v);
    }
    case 'name':
      return names?.get(e.path.text);
    default:
      return undefined;
  }
}
