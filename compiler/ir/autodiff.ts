/**
 * Reverse-mode automatic differentiation over the IR.
 *
 * `differentiate(g, { loss, wrt })` returns a new graph that computes everything `g` computes plus
 * one output `grad.<name>` per requested name: ∂loss/∂(that input or named node).
 *
 * - Only nodes on a path from some wrt to the loss get adjoints; the rest of the graph is copied
 *   as is. Frozen inputs are never wrt, but gradients flow through ops that use them, so a LoRA
 *   adapter below a frozen layer still gets its gradient.
 * - Fan-out accumulates (adjoint = Σ contributions); contributions of broadcast operands are summed
 *   back to the operand's shape.
 * - Comparisons, casts from i32, gather/scatterAdd wrt ids, and sources stop gradients.
 * - A wrt the loss does not depend on gets a zero gradient.
 * Rule-local work that ends up unused (rare) is left for dead-code elimination.
 */
import { GraphBuilder, type Value } from './builder.ts';
import { IRAutodiffError } from './errors.ts';
import type { Graph } from './graph.ts';
import { GRADIENTS } from './gradients.ts';
import { OPS } from './ops/index.ts';
import { copyNodes } from './rewrite.ts';
import { broadcastReductionAxes, shapesEqual } from './shape.ts';

export interface DifferentiateOptions {
  /** Output holding the scalar f32 loss. */
  readonly loss: string;
  /**
   * What to differentiate with respect to: names of graph inputs (params, or data inputs such as x
   * for saliency) or of named nodes (activations). Frozen inputs are rejected.
   */
  readonly wrt: readonly string[];
  /** Prefix of the gradient output names; `grad.` by default. */
  readonly prefix?: string;
}

/** Sums a contribution of broadcast shape back to `shape` (which broadcasts to it). */
export function sumToShape(b: GraphBuilder, v: Value, shape: readonly number[]): Value {
  if (shapesEqual(v.shape, shape)) return v;
  const axes = broadcastReductionAxes(v.shape, shape);
  const s = axes.length ? b.sum(v, axes) : v;
  return shapesEqual(s.shape, shape) ? s : b.reshape(s, shape);
}

export function differentiate(g: Graph, options: DifferentiateOptions): Graph {
  const prefix = options.prefix ?? 'grad.';
  const lossOut = g.outputs.find((o) => o.name === options.loss);
  if (!lossOut) throw new IRAutodiffError(`no output "${options.loss}" to differentiate`);
  const lossNode = g.nodes[lossOut.node]!;
  if (lossNode.dtype !== 'f32' || lossNode.shape.length !== 0) {
    throw new IRAutodiffError(`loss "${options.loss}" must be an f32 scalar, is ${lossNode.dtype}[${lossNode.shape.join(', ')}]`);
  }

  // Resolve wrt names: graph inputs first, then named nodes.
  const wrtIds: number[] = [];
  for (const name of options.wrt) {
    const input = g.inputs.find((i) => i.name === name);
    const id = input ? input.node : g.nodes.find((n) => n.name === name)?.id;
    if (id === undefined) throw new IRAutodiffError(`wrt "${name}" names no input or named node`);
    if (input?.role === 'frozen') throw new IRAutodiffError(`wrt "${name}" is frozen; frozen inputs get no gradient`);
    if (g.nodes[id]!.dtype !== 'f32') throw new IRAutodiffError(`wrt "${name}" is ${g.nodes[id]!.dtype}; only f32 values have gradients`);
    if (options.wrt.indexOf(name) !== options.wrt.lastIndexOf(name)) throw new IRAutodiffError(`wrt "${name}" given twice`);
    if (g.outputs.some((o) => o.name === prefix + name)) throw new IRAutodiffError(`output "${prefix + name}" already exists`);
    wrtIds.push(id);
  }
  const wrtSet = new Set(wrtIds);

  // needs[i]: node i depends (differentiably) on some wrt.
  const needs = g.nodes.map(() => false);
  for (const node of g.nodes) {
    if (OPS[node.op].kind === 'fused' || node.op === 'fusedMatmul') {
      if (node.inputs.some((i) => needs[i])) throw new IRAutodiffError(`%${node.id} is a ${node.op}: differentiate before fusing`);
    }
    needs[node.id] = wrtSet.has(node.id)
      || (GRADIENTS[node.op] !== null && node.dtype === 'f32' && node.inputs.some((i) => needs[i]));
  }

  const b = new GraphBuilder();
  const values = copyNodes(g, b) as Value[];
  const contributions: Value[][] = g.nodes.map(() => []);
  const adjoints = new Map<number, Value>();
  b.span = lossNode.span;
  if (needs[lossNode.id]) contributions[lossNode.id]!.push(b.constant(1));

  for (let id = lossNode.id; id >= 0; id--) {
    const parts = contributions[id]!;
    if (!needs[id] || parts.length === 0) continue;
    const node = g.nodes[id]!;
    b.span = node.span;
    const adjoint = parts.slice(1).reduce((acc, v) => b.add(acc, v), parts[0]!);
    adjoints.set(id, adjoint);
    const rule = GRADIENTS[node.op];
    const operandNeeds = node.inputs.map((i) => needs[i]!);
    if (!rule || !operandNeeds.some(Boolean)) continue;
    const inputs = node.inputs.map((i) => values[i]!);
    const grads = rule({ b, node: b.nodeOf(values[id]!), inputs, output: values[id]!, grad: adjoint, needs: operandNeeds });
    node.inputs.forEach((inputId, k) => {
      const contribution = grads[k];
      if (!operandNeeds[k] || !contribution) return;
      const reduced = sumToShape(b, contribution, inputs[k]!.shape);
      if (!shapesEqual(reduced.shape, inputs[k]!.shape)) {
        throw new IRAutodiffError(`internal: ${node.op} gradient for operand ${k} has shape [${reduced.shape}], operand is [${inputs[k]!.shape}]`);
      }
      contributions[inputId]!.push(reduced);
    });
  }

  b.span = undefined;
  for (const o of g.outputs) b.output(o.name, values[o.node]!);
  options.wrt.forEach((name, k) => {
    const id = wrtIds[k]!;
    b.output(prefix + name, adjoints.get(id) ?? b.zeros(g.nodes[id]!.shape));
  });
  return b.build();
}
