/** Feeds of a draws forward (compiler/passes/batchDraws.ts), shared by its tests. */
import { numel, type Feed, type Graph } from '../../compiler/ir/index.ts';
import { drawsInputName } from '../../compiler/passes/batchDraws.ts';

/** Stacks the draws of each parameter of `g`: `draws.P` [S, ...], slice s = draw s. */
export function stackedDraws(g: Graph, draws: readonly Record<string, Feed>[]): Record<string, Feed> {
  const out: Record<string, Feed> = {};
  for (const p of g.inputs.filter((i) => i.role === 'param')) {
    const size = numel(g.nodes[p.node]!.shape);
    const all = new Float64Array(size * draws.length);
    draws.forEach((d, s) => all.set(Array.from(d[p.name] as ArrayLike<number>), s * size));
    out[drawsInputName(p.name)] = all;
  }
  return out;
}
