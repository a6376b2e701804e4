/** Asserts that two graphs compute the same outputs on random feeds (passes must not change meaning). */
import { expect } from 'vitest';
import { evaluate, verifyGraph, type Feed, type Graph } from '../../compiler/ir/index.ts';
import { randomFeeds, relativeError } from '../ir/randomFeeds.ts';

export function expectSameOutputs(before: Graph, after: Graph, seeds = [1, 2, 3], given: Record<string, Feed> = {}): void {
  verifyGraph(after);
  expect(after.outputs.map((o) => o.name)).toEqual(before.outputs.map((o) => o.name));
  expect(after.inputs).toEqual(before.inputs.map((i, k) => ({ ...i, node: after.inputs[k]!.node })));
  for (const seed of seeds) {
    const feeds = randomFeeds(before, seed, given);
    const want = evaluate(before, feeds);
    const got = evaluate(after, feeds);
    for (const name of Object.keys(want)) {
      expect(relativeError(got[name]!, want[name]!), `output ${name}, seed ${seed}`).toBeLessThan(1e-12);
    }
  }
}

/** Ops of a graph, in order. */
export function opsOf(g: Graph): string[] {
  return g.nodes.map((n) => n.op);
}
