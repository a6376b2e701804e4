/**
 * Rebuilding a graph node by node: the skeleton of every pass. Each node is re-created on a fresh
 * GraphBuilder (so its shape rule runs again) unless a visitor replaces or drops it.
 */
import { GraphBuilder, type Value } from './builder.ts';
import { IRError } from './errors.ts';
import type { Graph, Node } from './graph.ts';
import { attrsOf } from './ops/index.ts';

export interface RewriteContext {
  readonly builder: GraphBuilder;
  /** The node's operands, as already rewritten. */
  readonly inputs: readonly Value[];
  /** Re-creates the node unchanged on the rewritten operands (keeps its span and name). */
  copy(): Value;
}

/**
 * Decides a node's fate: return a value to stand for it (an existing one, or new nodes built on
 * `ctx.builder`), `undefined` to copy it, or `null` to drop it. Users of a dropped node are
 * dropped with it, unvisited; an output that needs a dropped node is an error.
 * Input nodes are always copied, so a graph's interface never changes under a rewrite.
 */
export type NodeRewriter = (node: Node, ctx: RewriteContext) => Value | null | undefined;

/**
 * Copies `g`'s nodes onto `builder`, through `visit`; returns what each old node became
 * (undefined for dropped nodes). Outputs are not copied: see `rewriteGraph`.
 */
export function copyNodes(g: Graph, builder: GraphBuilder, visit?: NodeRewriter): (Value | undefined)[] {
  const mapped: (Value | undefined)[] = new Array(g.nodes.length);
  for (const node of g.nodes) {
    // Dropping a node drops its users too (an output that needs one is an error, below).
    if (node.inputs.some((i) => !mapped[i])) continue;
    const inputs = node.inputs.map((i) => mapped[i]!);
    if (node.op === 'input') {
      const v = builder.input(attrsOf(node, 'input').name, node.shape, {
        role: g.inputs.find((i) => i.node === node.id)?.role ?? attrsOf(node, 'input').role,
        dtype: node.dtype,
        span: node.span,
      });
      mapped[node.id] = node.name !== undefined ? builder.named(v, node.name) : v;
      continue;
    }
    const copy = (): Value => builder.node(node.op, inputs, node.attrs, { span: node.span, name: node.name });
    const result = visit ? visit(node, { builder, inputs, copy }) : undefined;
    mapped[node.id] = result === undefined ? copy() : result ?? undefined;
  }
  return mapped;
}

/** Rewrites a whole graph through `visit`; inputs and outputs keep their names and order. */
export function rewriteGraph(g: Graph, visit?: NodeRewriter): Graph {
  const b = new GraphBuilder();
  const mapped = copyNodes(g, b, visit);
  for (const o of g.outputs) {
    const v = mapped[o.node];
    if (!v) throw new IRError(`rewrite: output "${o.name}" uses %${o.node}, which was dropped`);
    b.output(o.name, v);
  }
  return b.build();
}
