/**
 * Elementwise kernels: fused bodies, single elementwise or remap ops (an unfused graph, or what
 * fusion left alone), and sources that some kernel reads from a buffer (filled constants and
 * iota are computed by a kernel; literals become constant buffers written once at load).
 */
import { attrsOf, instructionOf, numel, parseBody, type BodyArg, type BodyInstruction, type Node } from '../ir/index.ts';
import { elementwiseKernel } from '../codegen/wgsl/elementwise.ts';
import { nodeLabel, type ScheduleContext } from './context.ts';

export function lowerFusedElementwise(ctx: ScheduleContext, node: Node): void {
  const body = parseBody(attrsOf(node, 'fusedElementwise').body);
  emit(ctx, node, body, node.inputs);
}

/** One op as a one-instruction body; f32 scalar constants are written into the kernel. */
export function lowerSingleElementwise(ctx: ScheduleContext, node: Node): void {
  const operands: number[] = [];
  const args = node.inputs.map((id): BodyArg => {
    const src = ctx.graph.nodes[id]!;
    if (src.op === 'constant' && src.dtype === 'f32' && src.shape.length === 0) return { scalar: attrsOf(src, 'constant').value };
    let k = operands.indexOf(id);
    if (k < 0) k = operands.push(id) - 1;
    return { operand: k };
  });
  emit(ctx, node, [instructionOf(node, args)], operands);
}

/** Gives a source node a buffer: computed by a kernel, or (a literal) written once at load. */
export function materializeSource(ctx: ScheduleContext, node: Node): void {
  if (node.op === 'literal') {
    const values = attrsOf(node, 'literal').values;
    ctx.alias(node, ctx.newBuffer(`literal%${node.id}`, node.shape, node.dtype, 'constant', values));
    return;
  }
  if (node.op !== 'constant' && node.op !== 'iota') throw new Error(`schedule: cannot materialise ${node.op} %${node.id}`);
  if (numel(node.shape) === 0) throw new Error(`schedule: empty ${node.op}`);
  emit(ctx, node, [instructionOf(node, [])], []);
}

function emit(ctx: ScheduleContext, node: Node, body: readonly BodyInstruction[], operands: readonly number[]): void {
  const buffers = operands.map((id) => ctx.buffer(id));
  const types = operands.map((id) => ctx.graph.nodes[id]!);
  const label = nodeLabel(node);
  const kernel = elementwiseKernel(body, types, label, ctx.maxWorkgroups);
  ctx.launch(kernel, [...buffers, ctx.result(node)], label);
}
