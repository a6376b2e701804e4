/**
 * Common-subexpression elimination by structural hashing: two nodes with the same op, attrs and
 * (already merged) operands compute the same value, so the later one is replaced by the earlier.
 * Operands of commutative ops are sorted first, so a·b and b·a merge. Every op is deterministic —
 * dropout included, its mask being a function of (seed operand, stream, index) — so any pair of
 * structurally equal nodes may merge. Inputs never merge. The kept node keeps its span and name.
 */
import { OPS, rewriteGraph, type Attrs, type Graph, type Node, type Value } from '../ir/index.ts';

function canonicalAttrs(attrs: Attrs): string {
  return JSON.stringify(Object.keys(attrs).sort().map((k) => [k, attrs[k]]));
}

/** The structural key of a node over rewritten operand ids. */
export function structuralKey(node: Pick<Node, 'op' | 'attrs' | 'dtype'>, inputIds: readonly number[]): string {
  const ids = OPS[node.op].commutative ? [...inputIds].sort((a, b) => a - b) : inputIds;
  return `${node.op}|${node.dtype}|${ids.join(',')}|${canonicalAttrs(node.attrs)}`;
}

export function eliminateCommonSubexpressions(g: Graph): Graph {
  const seen = new Map<string, Value>();
  return rewriteGraph(g, (node, ctx) => {
    const key = structuralKey(node, ctx.inputs.map((v) => v.id));
    const existing = seen.get(key);
    if (existing) return existing;
    const v = ctx.copy();
    seen.set(key, v);
    return v;
  });
}
