/**
 * sum, mean and reduceMax over any set of axes, with the library's one-axis reduction kernels
 * (kernels/reduce.ts). Extent-1 axes are ignored (reducing them moves nothing); adjacent reduced
 * axes merge into one; separate runs of reduced axes take one pass each, innermost first, mean
 * dividing once in the last. `planReduce` chooses each pass's kernel shape for the target, and
 * may split a long axis into chunks (a second pass combines them).
 */
import { REDUCE_THREAD_WORKGROUP, REDUCE_TREE_WORKGROUP, checkPlan, planReduce, reduceSpec, type ReduceConfig, type ReduceDims } from '../../kernels/reduce.ts';
import { packParams } from '../../kernels/params.ts';
import { ceilDiv, foldGrid } from '../../abi/grid.ts';
import { attrsOf, type Node } from '../ir/index.ts';
import { nodeLabel, type ScheduleContext } from './context.ts';

type Combine = 'add' | 'max';

/**
 * Records the launches reducing `src` viewed as [outer, axis, inner] into `dst` [outer, inner],
 * finishing with a division by `divisor` when given (mean).
 */
export function reduceAxis(ctx: ScheduleContext, node: Node, src: number, dst: number, dims: ReduceDims, combine: Combine, divisor: number | undefined, what: string): void {
  const plan = planReduce(dims, ctx.target);
  checkPlan(plan, dims.axis);
  const finish = divisor === undefined ? 'none' : 'divide';
  const pass = (config: ReduceConfig, from: number, to: number, d: ReduceDims, chunks: number, chunkLength: number, div: number, step: string) => {
    const items = d.outer * d.inner * chunks;
    const label = nodeLabel(node, step);
    ctx.launch({
      spec: { ...reduceSpec(config), label },
      uniform: packParams([{ u32: d.outer }, { u32: d.axis }, { u32: d.inner }, { u32: chunks }, { u32: chunkLength }, { f32: div }]),
      workgroups: foldGrid(config.strategy === 'thread' ? ceilDiv(items, config.workgroupSize) : items, ctx.maxWorkgroups),
    }, [from, to], label);
  };
  const first: ReduceConfig = {
    map: 'identity', combine, finish, strategy: plan.strategy,
    workgroupSize: plan.strategy === 'thread' ? REDUCE_THREAD_WORKGROUP : REDUCE_TREE_WORKGROUP,
  };
  if (plan.chunks === 1) {
    pass(first, src, dst, dims, 1, plan.chunkLength, divisor ?? 1, what);
    return;
  }
  const partials = ctx.temp(node, `${what}.partials`, [dims.outer, plan.chunks, dims.inner]);
  pass({ ...first, finish: 'none' }, src, partials, dims, plan.chunks, plan.chunkLength, 1, `${what}.chunks`);
  const second: ReduceConfig = { map: 'identity', combine, finish, strategy: 'thread', workgroupSize: REDUCE_THREAD_WORKGROUP };
  pass(second, partials, dst, { outer: dims.outer, axis: plan.chunks, inner: dims.inner }, 1, plan.chunks, divisor ?? 1, `${what}.combine`);
}

export function lowerReduce(ctx: ScheduleContext, node: Node): void {
  const x = ctx.graph.nodes[node.inputs[0]!]!;
  const axes = new Set(attrsOf(node, 'sum', 'mean', 'reduceMax').axes);
  // The axes that matter: extent > 1, each flagged reduced or kept.
  let dims = x.shape.map((extent, i) => ({ extent, reduced: axes.has(i) })).filter((d) => d.extent > 1);
  const total = dims.filter((d) => d.reduced).reduce((p, d) => p * d.extent, 1);
  if (total === 1) {
    // Nothing to reduce: the result is the operand's data.
    ctx.alias(node, ctx.buffer(x.id));
    return;
  }
  const combine: Combine = node.op === 'reduceMax' ? 'max' : 'add';
  let src = ctx.buffer(x.id);
  let pass = 0;
  for (;;) {
    let end = dims.length;
    while (end > 0 && !dims[end - 1]!.reduced) end--;
    let start = end;
    while (start > 0 && dims[start - 1]!.reduced) start--;
    const product = (from: number, to: number) => dims.slice(from, to).reduce((p, d) => p * d.extent, 1);
    const rest = [...dims.slice(0, start), ...dims.slice(end)];
    const last = !rest.some((d) => d.reduced);
    const dst = last ? ctx.result(node) : ctx.temp(node, `pass${pass}`, rest.map((d) => d.extent));
    const divisor = last && node.op === 'mean' ? total : undefined;
    reduceAxis(ctx, node, src, dst, { outer: product(0, start), axis: product(start, end), inner: product(end, dims.length) }, combine, divisor, `pass${pass}`);
    if (last) return;
    dims = rest;
    src = dst;
    pass++;
  }
}
