import { KernelError } from '../../runtime/errors.ts';

/**
 * The elementwise operations, as WGSL. Each renders from operand expressions to one
 * parenthesised WGSL expression, so op lists nest into a single fused expression.
 * The CPU reference (kernels/cpu/elementwise.ts) implements the same names.
 */

export const UNARY_OPS = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'relu', 'gelu', 'sigmoid',
  'sin', 'cos', 'abs', 'square', 'reciprocal', 'scale', 'affine', 'softplus', 'detach',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/**
 * `scale` is x·s and `affine` is x·s + t, with s and t uniform scalars (named by the caller),
 * so changing the constants reuses the pipeline.
 */
export function renderUnary(op: UnaryOp, x: string, scalars: readonly string[] = []): string {
  switch (op) {
    case 'neg': return `(-${x})`;
    case 'exp': return `exp(${x})`;
    case 'log': return `log(${x})`;
    case 'sqrt': return `sqrt(${x})`;
    case 'rsqrt': return `inverseSqrt(${x})`;
    case 'tanh': return `op_tanh(${x})`;
    case 'relu': return `max(${x}, 0.0)`;
    case 'gelu': return `op_gelu(${x})`;
    case 'sigmoid': return `op_sigmoid(${x})`;
    case 'sin': return `sin(${x})`;
    case 'cos': return `cos(${x})`;
    case 'abs': return `abs(${x})`;
    case 'square': return `op_square(${x})`;
    case 'reciprocal': return `(1.0 / ${x})`;
    case 'softplus': return `op_softplus(${x})`;
    // The identity: a stop-gradient only matters to autodiff.
    case 'detach': return `(${x})`;
    case 'scale': return `(${x} * ${scalar(op, scalars, 0)})`;
    case 'affine': return `(${x} * ${scalar(op, scalars, 0)} + ${scalar(op, scalars, 1)})`;
  }
}

function scalar(op: string, scalars: readonly string[], i: number): string {
  const name = scalars[i];
  if (name === undefined) throw new KernelError(`elementwise op '${op}' needs scalar #${i}`);
  return name;
}

export function renderBinary(op: BinaryOp, a: string, b: string): string {
  switch (op) {
    case 'add': return `(${a} + ${b})`;
    case 'sub': return `(${a} - ${b})`;
    case 'mul': return `(${a} * ${b})`;
    case 'div': return `(${a} / ${b})`;
    case 'max': return `max(${a}, ${b})`;
    case 'min': return `min(${a}, ${b})`;
    case 'pow': return `op_pow(${a}, ${b})`;
  }
}

/**
 * WGSL helpers the ops call. The built-ins they replace are inaccurate or undefined where we
 * need them: llvmpipe's tanh loses 2e-4 relative accuracy near 0, exp overflows in a naive
 * sigmoid, and WGSL's pow is undefined for negative bases (numpy gives x^n for integer n).
 */
export const OP_HELPERS: Readonly<Record<string, string>> = {
  op_tanh: /* wgsl */ `
fn op_tanh(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.4) {
    // Taylor series to x^17 (relative error < 1e-9 for |x| < 0.4), free of cancellation.
    let z = x * x;
    let p = -0.00145583438705 + z * 0.00059002744094;
    let q = 0.133333333333 + z * (-0.0539682539683 + z * (0.0218694885362 + z * (-0.00886323552990 + z * (0.00359212803657 + z * p))));
    return x + x * z * (-0.333333333333 + z * q);
  }
  // 1 − 2/(e^{2a}+1) saturates cleanly to 1 when e^{2a} overflows.
  return sign(x) * (1.0 - 2.0 / (exp(2.0 * min(a, 20.0)) + 1.0));
}`,
  op_gelu: /* wgsl */ `
fn op_gelu(x: f32) -> f32 {
  // GELU, tanh approximation: x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))).
  return 0.5 * x * (1.0 + op_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}`,
  op_sigmoid: /* wgsl */ `
fn op_sigmoid(x: f32) -> f32 {
  // exp of a non-positive argument only, so neither branch overflows.
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}`,
  op_square: /* wgsl */ `
fn op_square(x: f32) -> f32 {
  return x * x;
}`,
  op_softplus: /* wgsl */ `
fn op_softplus(x: f32) -> f32 {
  // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): exp of a non-positive argument only.
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}`,
  op_pow: /* wgsl */ `
// Runtime (not constant) bit patterns: WGSL rejects inf and NaN in constant expressions.
var<private> op_pow_inf_bits: u32 = 0x7f800000u;
var<private> op_pow_nan_bits: u32 = 0x7fc00000u;
fn op_pow(a: f32, b: f32) -> f32 {
  // numpy semantics: x^0 = 1, 0^-b = inf, and a negative base with an integer exponent is ±|a|^b.
  if (b == 0.0) { return 1.0; }
  if (a == 0.0) { return select(bitcast<f32>(op_pow_inf_bits), 0.0, b > 0.0); }
  let m = pow(abs(a), b);
  if (a > 0.0) { return m; }
  if (floor(b) != b) { return bitcast<f32>(op_pow_nan_bits); }
  return select(m, -m, (abs(b) % 2.0) == 1.0);
}`,
};

/** Helper functions (in a fixed order, so kernel text is byte-stable) that `expr` calls. */
export function helpersFor(expr: string): string[] {
  const needed = new Set<string>();
  const visit = (name: string) => {
    if (needed.has(name)) return;
    needed.add(name);
    // op_gelu calls op_tanh.
    for (const other of Object.keys(OP_HELPERS)) if (other !== name && OP_HELPERS[name]!.includes(`${other}(`)) visit(other);
  };
  for (const name of Object.keys(OP_HELPERS)) if (new RegExp(`\\b${name}\\(`).test(expr)) visit(name);
  return Object.keys(OP_HELPERS).filter((name) => needed.has(name)).map((name) => OP_HELPERS[name]!);
}
