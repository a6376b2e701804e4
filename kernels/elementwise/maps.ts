import type { Device } from '../../runtime/device.ts';
import type { Tensor } from '../../runtime/tensor.ts';
import { elementwiseExpr } from './kernel.ts';
import { type BinaryOp, type UnaryOp, renderBinary, renderUnary } from './ops.ts';

export interface UnaryOptions {
  /** `scale` and `affine`: the multiplier (default 1). */
  scale?: number;
  /** `affine`: the offset (default 0). */
  shift?: number;
  out?: Tensor;
}

/** y = op(x), one dispatch. `scale`/`affine` take their constants from the uniform. */
export function unary(device: Device, x: Tensor, op: UnaryOp, options: UnaryOptions = {}): Promise<Tensor> {
  const scalars = op === 'scale' ? [options.scale ?? 1] : op === 'affine' ? [options.scale ?? 1, options.shift ?? 0] : [];
  return elementwiseExpr(device, { inputs: [x], expr: renderUnary(op, 'a', ['s0', 's1'].slice(0, scalars.length)), scalars, out: options.out });
}

/** y = a op b with numpy broadcasting, one dispatch. */
export function binary(device: Device, a: Tensor, b: Tensor, op: BinaryOp, options: { out?: Tensor } = {}): Promise<Tensor> {
  return elementwiseExpr(device, { inputs: [a, b], expr: renderBinary(op, 'a', 'b'), out: options.out });
}
