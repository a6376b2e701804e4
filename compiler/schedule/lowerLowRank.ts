/** fusedLowRank: one kernel, the coefficients drawn per workgroup (codegen/wgsl/lowRank.ts). */
import { attrsOf, parseBody, type Node } from '../ir/index.ts';
import { lowRankKernel } from '../codegen/wgsl/lowRank.ts';
import { nodeLabel, type ScheduleContext } from './context.ts';

export function lowerLowRank(ctx: ScheduleContext, node: Node): void {
  const [factor, ...reads] = node.inputs.map((id) => ctx.graph.nodes[id]!);
  const label = nodeLabel(node);
  const kernel = lowRankKernel(parseBody(attrsOf(node, 'fusedLowRank').coef), parseBody(attrsOf(node, 'fusedLowRank').epilogue), factor!, reads, label, ctx.maxWorkgroups);
  ctx.launch(kernel, [...node.inputs.map((id) => ctx.buffer(id)), ctx.result(node)], label);
}
