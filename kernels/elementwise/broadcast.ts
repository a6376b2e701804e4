import { LimitError, ShapeError, formatShape } from '../../runtime/errors.ts';

/** Broadcasting covers tensors of up to this many dimensions (numpy rules, right-aligned). */
export const MAX_BROADCAST_RANK = 6;

/** The numpy broadcast of several shapes; throws ShapeError naming every shape when they clash. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const d = rank - shape.length + i;
      const size = shape[i]!;
      if (size === out[d] || size === 1) continue;
      if (out[d] === 1) out[d] = size;
      else throw new ShapeError(`shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together (dimension ${d}: ${out[d]} vs ${size})`);
    }
  }
  return out;
}

/**
 * Element strides of `shape` read as `outShape` (right-aligned): 0 along broadcast dimensions.
 * Throws ShapeError naming both shapes when `shape` does not broadcast to `outShape`.
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const fits = shape.length <= outShape.length && shape.every((d, i) => d === 1 || d === outShape[outShape.length - shape.length + i]);
  if (!fits) throw new ShapeError(`shape ${formatShape(shape)} cannot be broadcast to ${formatShape(outShape)}`);
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = outShape.length - shape.length + i;
    strides[d] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** A broadcast iteration space reduced to as few dimensions as possible. */
export interface CollapsedLayout {
  /** Sizes of the collapsed output dimensions (at least one). */
  shape: number[];
  /** Per input: its element strides along `shape`. */
  strides: number[][];
}

/**
 * Merges neighbouring output dimensions wherever every input walks them as one (its stride
 * over the outer equals its stride over the inner times the inner size), and drops size-1
 * dimensions. A same-shape operation becomes 1-D, a row-broadcast becomes 2-D.
 */
export function collapseLayout(outShape: readonly number[], strides: readonly (readonly number[])[]): CollapsedLayout {
  const dims: number[] = [];
  const merged: number[][] = strides.map(() => []);
  for (let d = 0; d < outShape.length; d++) {
    const size = outShape[d]!;
    if (size === 1) continue;
    const last = dims.length - 1;
    const canMerge = last >= 0 && strides.every((s, k) => merged[k]![last] === s[d]! * size);
    if (canMerge) {
      dims[last]! *= size;
      strides.forEach((s, k) => (merged[k]![last] = s[d]!));
    } else {
      dims.push(size);
      strides.forEach((s, k) => merged[k]!.push(s[d]!));
    }
  }
  if (dims.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  if (dims.length > MAX_BROADCAST_RANK) {
    throw new LimitError(`broadcast over ${formatShape([...outShape])} needs ${dims.length} dimensions after merging; at most ${MAX_BROADCAST_RANK} are supported`);
  }
  return { shape: dims, strides: merged };
}

/** How a kernel reads one input, decided from its collapsed strides. */
export type InputAccess = 'same' | 'scalar' | 'strided';

/** `same`: the input's element i is output element i; `scalar`: one value for all; else strided. */
export function inputAccess(layout: CollapsedLayout, input: number): InputAccess {
  const strides = layout.strides[input]!;
  if (strides.every((s) => s === 0)) return 'scalar';
  let expected = 1;
  for (let d = layout.shape.length - 1; d >= 0; d--) {
    if (strides[d] !== expected) return 'strided';
    expected *= layout.shape[d]!;
  }
  return 'same';
}
