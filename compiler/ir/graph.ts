/**
 * The tensor IR: an SSA graph. A graph is a list of nodes in topological order; a node's id is
 * its index in that list and its inputs name earlier nodes. Every node carries its static shape
 * and dtype (dimensions are bound to numbers before the IR is built) and plain JSON-able attrs,
 * so a graph can be printed, hashed, serialised and compared without special cases.
 *
 * The op set, with arity, attr schema and shape rule of each op, is in `ops/` (primitive ops in
 * `ops/primitive.ts`, fused ones in `ops/fused.ts`); what each op computes is in `evaluateOp.ts`;
 * how gradients flow through it is in `gradients.ts`.
 */
import type { OpName } from './ops/index.ts';
import type { Attrs, DType, InputRole, Shape, Span } from './types.ts';

export type { AttrValue, Attrs, DType, InputRole, Shape, Span } from './types.ts';

/** One SSA value. */
export interface Node {
  /** Index of this node in `Graph.nodes`. */
  readonly id: number;
  readonly op: OpName;
  /** Ids of earlier nodes, in the op's operand order. */
  readonly inputs: readonly number[];
  readonly attrs: Attrs;
  readonly shape: Shape;
  readonly dtype: DType;
  /** Source location, for messages and kernel labels. */
  readonly span?: Span;
  /** A readable name (a `let` binding in source, a gradient); printed, never semantic. */
  readonly name?: string;
}

/** A graph input: an `input` node with a name and a role. */
export interface GraphInput {
  readonly name: string;
  readonly role: InputRole;
  /** Id of the `input` node. */
  readonly node: number;
}

/** A named graph output. Several outputs may name the same node. */
export interface GraphOutput {
  readonly name: string;
  readonly node: number;
}

/** A whole program: nodes in topological order, its inputs (in declaration order) and outputs. */
export interface Graph {
  readonly nodes: readonly Node[];
  readonly inputs: readonly GraphInput[];
  readonly outputs: readonly GraphOutput[];
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Looks up an output's node; throws when the graph has no such output. */
export function outputNode(g: Graph, name: string): Node {
  const out = g.outputs.find((o) => o.name === name);
  if (!out) throw new Error(`graph has no output "${name}"`);
  return g.nodes[out.node]!;
}

/** Looks up an input by name; undefined when absent. */
export function findInput(g: Graph, name: string): GraphInput | undefined {
  return g.inputs.find((i) => i.name === name);
}
