/**
 * The layout of theta: every trainable tensor flattened (row-major) into one vector [p], in a
 * stable order — for a finetune the checker's order (each attachment's params as `<layer>.<param>`,
 * then the model's own params such as the head), for a model its params in declaration order, for
 * a lone adapter its params in declaration order. Frozen tensors are not in theta. The posterior's
 * statistics are over this vector, and a posterior sample is unpacked back through it.
 */
import { LowerError } from './errors.ts';

export interface ThetaEntry {
  readonly path: string;
  readonly shape: readonly number[];
  /** First element in theta. */
  readonly offset: number;
  /** Element count. */
  readonly size: number;
}

export interface ThetaLayout {
  readonly entries: readonly ThetaEntry[];
  /** p: the total element count. */
  readonly size: number;
}

/** Lays out tensors back to back in the order given. */
export function thetaLayout(tensors: readonly { path: string; shape: readonly number[] }[]): ThetaLayout {
  let offset = 0;
  const seen = new Set<string>();
  const entries = tensors.map((t) => {
    if (seen.has(t.path)) throw new LowerError('internal', `theta lists ${t.path} twice`);
    seen.add(t.path);
    const size = t.shape.reduce((p, d) => p * d, 1);
    const e: ThetaEntry = { path: t.path, shape: [...t.shape], offset, size };
    offset += size;
    return e;
  });
  return { entries, size: offset };
}

/** The entry of one path. */
export function thetaEntry(layout: ThetaLayout, path: string): ThetaEntry {
  const e = layout.entries.find((x) => x.path === path);
  if (!e) throw new Error(`theta has no entry ${path}`);
  return e;
}

/** Packs per-tensor values into one theta vector. */
export function packTheta(layout: ThetaLayout, values: ReadonlyMap<string, ArrayLike<number>> | Readonly<Record<string, ArrayLike<number>>>): Float32Array {
  const get = (p: string) => (values instanceof Map ? values.get(p) : (values as Record<string, ArrayLike<number>>)[p]);
  const theta = new Float32Array(layout.size);
  for (const e of layout.entries) {
    const v = get(e.path);
    if (!v) throw new Error(`packTheta: no value for ${e.path}`);
    if (v.length !== e.size) throw new Error(`packTheta: ${e.path} has ${v.length} elements, the layout needs ${e.size}`);
    theta.set(v as ArrayLike<number>, e.offset);
  }
  return theta;
}

/** Splits a theta vector into per-tensor views (copies). */
export function unpackTheta(layout: ThetaLayout, theta: ArrayLike<number>): Map<string, Float32Array> {
  if (theta.length !== layout.size) throw new Error(`unpackTheta: theta has ${theta.length} elements, the layout ${layout.size}`);
  const out = new Map<string, Float32Array>();
  for (const e of layout.entries) out.set(e.path, Float32Array.from(Array.prototype.slice.call(theta, e.offset, e.offset + e.size) as number[]));
  return out;
}
