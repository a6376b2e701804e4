/**
 * Plain-JS reference for the elementwise kernels: same op names, same numpy broadcasting,
 * computed in f64 and rounded to f32 at the end.
 */
import type { HostTensor } from './host-tensor.ts';
import type { ExprNode } from '../elementwise/expr.ts';
import type { BinaryOp, UnaryOp } from '../elementwise/ops.ts';

export type { HostTensor } from './host-tensor.ts';

export function unaryCpuScalar(op: UnaryOp, x: number, scale = 1, shift = 0): number {
  switch (op) {
    case 'neg': return -x;
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'sqrt': return Math.sqrt(x);
    case 'rsqrt': return 1 / Math.sqrt(x);
    case 'tanh': return Math.tanh(x);
    case 'relu': return Math.max(x, 0);
    case 'gelu': return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'sin': return Math.sin(x);
    case 'cos': return Math.cos(x);
    case 'abs': return Math.abs(x);
    case 'square': return x * x;
    case 'reciprocal': return 1 / x;
    case 'softplus': return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    case 'detach': return x;
    case 'scale': return x * scale;
    case 'affine': return x * scale + shift;
  }
}

export function binaryCpuScalar(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
    case 'max': return Math.max(a, b);
    case 'min': return Math.min(a, b);
    case 'pow': return Math.pow(a, b);
  }
}

export function unaryCpu(op: UnaryOp, x: ArrayLike<number>, options: { scale?: number; shift?: number } = {}): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = unaryCpuScalar(op, x[i]!, options.scale, options.shift);
  return out;
}

/** Maps `fn` over the inputs broadcast (numpy rules) to `outShape`. */
export function broadcastMapCpu(inputs: readonly HostTensor[], outShape: readonly number[], fn: (...values: number[]) => number): Float32Array {
  const rank = outShape.length;
  const size = outShape.reduce((p, d) => p * d, 1);
  const strides = inputs.map(({ shape }) => {
    const s = new Array<number>(rank).fill(0);
    let stride = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      s[rank - shape.length + i] = shape[i] === 1 ? 0 : stride;
      stride *= shape[i]!;
    }
    return s;
  });
  const out = new Float32Array(size);
  const coord = new Array<number>(rank).fill(0);
  const values = new Array<number>(inputs.length);
  for (let i = 0; i < size; i++) {
    let rest = i;
    for (let d = rank - 1; d >= 0; d--) {
      coord[d] = rest % outShape[d]!;
      rest = Math.floor(rest / outShape[d]!);
    }
    for (let k = 0; k < inputs.length; k++) {
      let offset = 0;
      for (let d = 0; d < rank; d++) offset += coord[d]! * strides[k]![d]!;
      values[k] = inputs[k]!.data[offset]!;
    }
    out[i] = fn(...values);
  }
  return out;
}

/** The numpy broadcast of two shapes (no checks: the GPU side validates). */
export function broadcastShapeCpu(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    return x === 1 ? y : x;
  });
}

export function binaryCpu(op: BinaryOp, a: HostTensor, b: HostTensor): { data: Float32Array; shape: number[] } {
  const shape = broadcastShapeCpu(a.shape, b.shape);
  return { data: broadcastMapCpu([a, b], shape, (x, y) => binaryCpuScalar(op, x!, y!)), shape };
}

/** Evaluates an op tree at one point; leaves name entries of `values`. */
export function evalExprCpu(node: ExprNode, values: Readonly<Record<string, number>>): number {
  if (typeof node === 'string') {
    const v = values[node];
    if (v === undefined) throw new Error(`no value for '${node}'`);
    return v;
  }
  if (typeof node === 'number') return node;
  if ('x' in node) {
    const [s, t] = (node.scalars ?? []).map((name) => evalExprCpu(name, values));
    return unaryCpuScalar(node.op, evalExprCpu(node.x, values), s, t);
  }
  return binaryCpuScalar(node.op, evalExprCpu(node.a, values), evalExprCpu(node.b, values));
}
