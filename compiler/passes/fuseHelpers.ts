/**
 * What the fusion passes share: who uses a node, scalar constants, matmul-like product terms, and
 * a rebuild loop whose visitor can reach the rewritten value of any earlier node (a fused node
 * takes operands from anywhere up its chain, not only from the node being visited).
 */
import { GraphBuilder, attrsOf, numel, type Graph, type Node, type Value } from '../ir/index.ts';

/** For every node, the ids of the nodes using it (once per use). */
export function usersOf(g: Graph): number[][] {
  const users: number[][] = g.nodes.map(() => []);
  for (const node of g.nodes) for (const i of node.inputs) users[i]!.push(node.id);
  return users;
}

/** Ids of nodes that are graph outputs. */
export function outputIds(g: Graph): Set<number> {
  return new Set(g.outputs.map((o) => o.node));
}

/** True when the node's value is used by exactly one node, once, and is not an output. */
export function hasSingleUse(g: Graph, users: readonly number[][], outputs: ReadonlySet<number>, id: number): boolean {
  return users[id]!.length === 1 && !outputs.has(id);
}

/** The value of an f32 constant with one element (a scalar, or [1, 1] and the like). */
export function scalarConstant(node: Node | undefined): number | undefined {
  if (!node || node.op !== 'constant' || node.dtype !== 'f32' || numel(node.shape) !== 1) return undefined;
  return attrsOf(node, 'constant').value;
}

/**
 * `x · c` or `c · x` (or `x / c`) with c an f32 scalar constant and the result x's shape:
 * the scaled operand's id and c. Undefined for anything else.
 */
export function scaledBy(g: Graph, node: Node): { x: number; c: number } | undefined {
  if (node.op !== 'mul' && node.op !== 'div') return undefined;
  const [p, q] = node.inputs as [number, number];
  const sameShape = (id: number) => g.nodes[id]!.shape.length === node.shape.length && g.nodes[id]!.shape.every((d, i) => d === node.shape[i]);
  const cq = scalarConstant(g.nodes[q]);
  if (cq !== undefined && sameShape(p)) return node.op === 'mul' ? { x: p, c: cq } : cq !== 0 ? { x: p, c: 1 / cq } : undefined;
  const cp = scalarConstant(g.nodes[p]);
  if (node.op === 'mul' && cp !== undefined && sameShape(q)) return { x: q, c: cp };
  return undefined;
}

/** A plain product alpha·op(a)·op(b): a matmul, or a fusedMatmul with nothing but alpha. */
export interface ProductTerm {
  a: number;
  b: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
}

export function productTerm(node: Node): ProductTerm | undefined {
  const a = node.attrs;
  if (node.op === 'matmul') return { a: node.inputs[0]!, b: node.inputs[1]!, transA: a.transA as boolean, transB: a.transB as boolean, alpha: 1 };
  if (node.op !== 'fusedMatmul') return undefined;
  if (a.concat || a.bias || a.rowBias || a.activation !== '' || a.scale !== 1) return undefined;
  return { a: node.inputs[0]!, b: node.inputs[1]!, transA: a.transA as boolean, transB: a.transB as boolean, alpha: a.alpha as number };
}

export interface RebuildContext {
  readonly builder: GraphBuilder;
  /** The node's operands, rewritten. */
  readonly inputs: readonly Value[];
  /** The rewritten value of any earlier node of the source graph. */
  valueOf(id: number): Value;
  /** Re-creates the node on its rewritten operands. */
  copy(): Value;
}

/**
 * Rebuilds `g` node by node; `visit` returns what a node becomes, or undefined to copy it.
 * Inputs and outputs keep their names, roles and order. Nodes left unused are not removed
 * (run dead-code elimination after).
 */
export function rebuild(g: Graph, visit: (node: Node, ctx: RebuildContext) => Value | undefined): Graph {
  const b = new GraphBuilder();
  const mapped: Value[] = [];
  const valueOf = (id: number): Value => {
    const v = mapped[id];
    if (!v) throw new Error(`rebuild: %${id} is not rewritten yet`);
    return v;
  };
  for (const node of g.nodes) {
    if (node.op === 'input') {
      const input = g.inputs.find((i) => i.node === node.id);
      const v = b.input(attrsOf(node, 'input').name, node.shape, { role: input?.role ?? attrsOf(node, 'input').role, dtype: node.dtype, span: node.span });
      mapped[node.id] = node.name !== undefined ? b.named(v, node.name) : v;
      continue;
    }
    const inputs = node.inputs.map(valueOf);
    const copy = (): Value => b.node(node.op, inputs, node.attrs, { span: node.span, name: node.name });
    mapped[node.id] = visit(node, { builder: b, inputs, valueOf, copy }) ?? copy();
  }
  for (const o of g.outputs) b.output(o.name, valueOf(o.node));
  return b.build();
}
