/**
 * Training losses on a network's output `y`. The request names one; the default is cross-entropy,
 * for a network that returns logits.
 *
 * - `crossEntropy`: y [..., c] are logits, `labels` i32 [...] (y's leading axes) the classes; the
 *   mean over rows (the IR's `crossEntropy` on y reshaped to [rows, c]).
 * - `mse`: mean((y − target)²), `target` f32 shaped like y.
 * - `dot`: Σ y ⊙ cotangent, `cotangent` f32 shaped like y: its gradient is the vector–Jacobian
 *   product, what a gradient check of any output needs.
 */
import type { GraphBuilder, Span, Value } from '../ir/index.ts';
import { LowerError } from './errors.ts';

export type LossSpec = { kind: 'crossEntropy' } | { kind: 'mse' } | { kind: 'dot' };

export const DEFAULT_LOSS: LossSpec = { kind: 'crossEntropy' };

/** The extra data input a loss reads. */
export interface LossInput {
  name: 'labels' | 'target' | 'cotangent';
  shape: number[];
  dtype: 'f32' | 'i32';
}

/** The input a loss needs for an output of this shape. */
export function lossInput(spec: LossSpec, y: readonly number[]): LossInput {
  switch (spec.kind) {
    case 'crossEntropy':
      if (y.length === 0) throw new LowerError('bad-request', 'cross-entropy needs logits with a class axis, but the output is a scalar');
      return { name: 'labels', shape: y.length === 1 ? [1] : y.slice(0, -1), dtype: 'i32' };
    case 'mse':
      return { name: 'target', shape: [...y], dtype: 'f32' };
    case 'dot':
      return { name: 'cotangent', shape: [...y], dtype: 'f32' };
  }
}

/** Adds the loss's input and the scalar loss to the graph being built. */
export function addLoss(b: GraphBuilder, y: Value, spec: LossSpec, span: Span): Value {
  const need = lossInput(spec, y.shape);
  b.span = span;
  const data = b.input(need.name, need.shape, { dtype: need.dtype, span });
  b.span = span;
  switch (spec.kind) {
    case 'crossEntropy': {
      const classes = y.shape[y.shape.length - 1]!;
      const rows = y.shape.slice(0, -1).reduce((p, d) => p * d, 1);
      const logits = y.shape.length === 2 ? y : b.reshape(y, [rows, classes]);
      const labels = data.shape.length === 1 ? data : b.reshape(data, [rows]);
      return b.crossEntropy(logits, labels);
    }
    case 'mse':
      return b.mean(b.square(b.sub(y, data)));
    case 'dot':
      return b.sum(b.mul(y, data));
  }
}
