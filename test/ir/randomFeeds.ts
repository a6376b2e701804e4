/** Reproducible random feeds for every input of a graph (f32 uniform; i32 must be given). */
import type { Feed, Graph } from '../../compiler/ir/index.ts';
import { numel } from '../../compiler/ir/index.ts';
import { rng } from '../helpers/random.ts';

/** Uniform f32 data in [lo, hi) for each input not in `given`; i32 inputs must be given. */
export function randomFeeds(
  g: Graph,
  seed: number,
  given: Record<string, Feed> = {},
  ranges: Record<string, [number, number]> = {},
): Record<string, Feed> {
  const r = rng(seed);
  const feeds: Record<string, Feed> = { ...given };
  for (const input of g.inputs) {
    if (input.name in feeds) continue;
    const node = g.nodes[input.node]!;
    if (node.dtype === 'i32') throw new Error(`randomFeeds: give data for i32 input "${input.name}"`);
    const [lo, hi] = ranges[input.name] ?? [-1, 1];
    feeds[input.name] = Float64Array.from({ length: numel(node.shape) }, () => lo + (hi - lo) * r());
  }
  return feeds;
}

/** Largest |a − b| over the largest |b| (scale-relative, safe near zero). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    const d = Math.abs(a[i]! - b[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst / Math.max(scale, 1e-12);
}
