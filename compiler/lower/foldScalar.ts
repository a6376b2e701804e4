/**
 * Constant folding of scalar expressions at lowering time. Scalars the IR cannot compute
 * (integer arithmetic on dims: `K - 1`, `half - 1`) and scalars it need not (`alpha / r`,
 * `sqrt(scale / (K - 1))`) become one f32 constant each: the IR does f32 arithmetic only, and the
 * fusion passes like a literal scale (`fusedMatmul {alpha}`). A scalar that depends on a tensor
 * (`sum(x)`) is not folded.
 */
import { geluTanh } from '../ir/index.ts';
import type { TypedExpr } from '../types/typed-program.ts';
import type { DimEnv } from './bindDims.ts';

/** What folding needs to know: scalar parameters and sizes. */
export interface FoldScope {
  readonly env: DimEnv;
  scalar(name: string): number | undefined;
}

const UNARY: Readonly<Record<string, (x: number) => number>> = {
  neg: (x) => -x,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  relu: (x) => Math.max(x, 0),
  gelu: geluTanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  sin: Math.sin,
  cos: Math.cos,
  abs: Math.abs,
  sqr: (x) => x * x,
  to_f32: (x) => x,
};

const BINARY: Readonly<Record<string, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  max: Math.max,
  min: Math.min,
};

/** The value of a scalar expression made of constants, scalar parameters and sizes; else undefined. */
export function foldScalar(e: TypedExpr, scope: FoldScope): number | undefined {
  if (e.type.shape.length !== 0) return undefined;
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'ref':
      if (e.ref.kind === 'scalar') return scope.scalar(e.ref.name);
      if (e.ref.kind === 'dim') return scope.env.eval(e.ref.dim, `the value of ${e.ref.dim.text}`, e.span);
      return undefined;
    case 'call':
      return undefined;
    case 'op': {
      const u = UNARY[e.op];
      if (u && e.args.length === 1) {
        const x = foldScalar(e.args[0]!, scope);
        return x === undefined ? undefined : u(x);
      }
      const bin = BINARY[e.op];
      if (bin && e.args.length === 2) {
        const a = foldScalar(e.args[0]!, scope);
        if (a === undefined) return undefined;
        const b = foldScalar(e.args[1]!, scope);
        return b === undefined ? undefined : bin(a, b);
      }
      return undefined;
    }
  }
}
