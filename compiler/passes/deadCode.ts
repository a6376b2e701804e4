/**
 * Dead-code elimination: keeps only the nodes some output needs. Graph inputs always stay (even
 * unused ones), so the generated module's signature does not shift under optimisation.
 */
import { rewriteGraph, type Graph } from '../ir/index.ts';

/** Marks every node an output depends on. */
export function liveNodes(g: Graph): boolean[] {
  const live = g.nodes.map(() => false);
  for (const o of g.outputs) live[o.node] = true;
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    if (live[i]) for (const j of g.nodes[i]!.inputs) live[j] = true;
  }
  return live;
}

export function eliminateDeadCode(g: Graph): Graph {
  const live = liveNodes(g);
  return rewriteGraph(g, (node) => (live[node.id] ? undefined : null));
}
