/**
 * Shape arithmetic shared by the shape rules, the interpreter and autodiff: numpy broadcasting,
 * row-major strides, axis normalisation.
 */
import type { Shape } from './types.ts';

/** Row-major strides of a shape (in elements). */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** The numpy broadcast of two shapes, or undefined when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * For every element of `outShape` (row-major), the offset of the element of a tensor of shape
 * `inShape` that broadcasts onto it. `inShape` must broadcast to `outShape`.
 */
export function broadcastOffsets(inShape: Shape, outShape: Shape): Int32Array {
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  // Stride 0 along broadcast (missing or size-1) axes.
  const strides = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const j = i - (rank - inShape.length);
    strides[i] = j < 0 || inShape[j] === 1 ? 0 : inStrides[j]!;
  }
  return stridedOffsets(outShape, strides);
}

/** For every element of `outShape` (row-major), Σ index[i]·strides[i] (one stride per output axis). */
export function stridedOffsets(outShape: Shape, strides: readonly number[]): Int32Array {
  const rank = outShape.length;
  let total = 1;
  for (const d of outShape) total *= d;
  const offsets = new Int32Array(total);
  const index = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let e = 0; e < total; e++) {
    offsets[e] = offset;
    // Odometer increment, adjusting the offset incrementally.
    for (let i = rank - 1; i >= 0; i--) {
      index[i]!++;
      offset += strides[i]!;
      if (index[i]! < outShape[i]!) break;
      offset -= strides[i]! * outShape[i]!;
      index[i] = 0;
    }
  }
  return offsets;
}

/** Maps a possibly negative axis into [0, rank); undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  if (!Number.isInteger(axis)) return undefined;
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** True for a valid extent list: non-negative rank, every extent a positive integer. */
export function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 1);
}

/**
 * The axes to sum a broadcast result of shape `from` over so it reduces back to `to` (which must
 * broadcast to `from`): the leading extra axes plus the axes where `to` has extent 1.
 */
export function broadcastReductionAxes(from: Shape, to: Shape): number[] {
  const axes: number[] = [];
  const lead = from.length - to.length;
  for (let i = 0; i < from.length; i++) {
    if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
  }
  return axes;
}
