import { KernelError } from '../../runtime/errors.ts';
import { OP_HELPERS, type BinaryOp, type UnaryOp, renderBinary, renderUnary } from './ops.ts';

/**
 * An elementwise computation as a small tree, the form the compiler fuses chains into:
 * a leaf names an input (`'a'`), a number is a constant, a node applies one op.
 */
export type ExprNode =
  | string
  | number
  | { op: UnaryOp; x: ExprNode; scalars?: readonly string[] }
  | { op: BinaryOp; a: ExprNode; b: ExprNode };

/** WGSL for the tree; leaves are input or scalar names, numbers become f32 literals. */
export function renderExpr(node: ExprNode): string {
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return f32Literal(node);
  if ('x' in node) return renderUnary(node.op, renderExpr(node.x), node.scalars);
  return renderBinary(node.op, renderExpr(node.a), renderExpr(node.b));
}

/** A WGSL f32 literal that round-trips `value` (finite only). */
export function f32Literal(value: number): string {
  if (!Number.isFinite(value)) throw new KernelError(`elementwise constant ${value} is not finite; pass it as a scalar`);
  const text = String(Math.fround(value));
  return /[.e]/.test(text) ? `${text}f` : `${text}.0f`;
}

/** WGSL built-ins an expression may call (all elementwise on f32). */
export const BUILTINS: ReadonlySet<string> = new Set([
  'abs', 'acos', 'asin', 'atan', 'atan2', 'ceil', 'clamp', 'cos', 'cosh', 'exp', 'exp2', 'floor', 'fma', 'fract',
  'inverseSqrt', 'log', 'log2', 'max', 'min', 'mix', 'pow', 'round', 'select', 'sign', 'sin', 'sinh', 'sqrt',
  'step', 'smoothstep', 'tan', 'tanh', 'trunc', 'f32',
]);

const TOKEN = /\s+|[A-Za-z_][A-Za-z0-9_]*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fi]?|<=|>=|==|!=|&&|\|\||[-+*/%(),<>!]/y;

/**
 * Checks that a string expression only uses the given names, known functions, numbers and
 * arithmetic: it is pasted into kernel text, so nothing else (no `;`, braces, or pointers) may pass.
 */
export function validateExpr(expr: string, names: readonly string[]): void {
  const allowed = new Set(names);
  TOKEN.lastIndex = 0;
  let depth = 0;
  while (TOKEN.lastIndex < expr.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(expr);
    if (!match) throw new KernelError(`elementwise expression '${expr}': unexpected '${expr[start]}' at column ${start + 1}`);
    const token = match[0];
    if (token === '(') depth++;
    if (token === ')' && --depth < 0) throw new KernelError(`elementwise expression '${expr}': unbalanced ')' at column ${start + 1}`);
    if (/^[A-Za-z_]/.test(token) && !allowed.has(token) && !BUILTINS.has(token) && !(token in OP_HELPERS)) {
      throw new KernelError(`elementwise expression '${expr}': unknown name '${token}' (inputs: ${names.join(', ') || 'none'})`);
    }
  }
  if (depth !== 0) throw new KernelError(`elementwise expression '${expr}': unbalanced '('`);
  if (expr.trim() === '') throw new KernelError('elementwise expression is empty');
}

