/**
 * gather, scatterAdd and concat. scatterAdd splits long id lists into chunks (each chunk's
 * partial table summed afterwards by a reduction); concat writes each operand into its region
 * of the result, a filled constant operand as a fill without a buffer of its own.
 */
import { attrsOf, numel, type Node } from '../ir/index.ts';
import { SCATTER_CHUNK, gatherKernel, regionCopyKernel, scatterAddKernel } from '../codegen/wgsl/indexing.ts';
import { nodeLabel, type ScheduleContext } from './context.ts';
import { reduceAxis } from './lowerReduce.ts';

export function lowerGather(ctx: ScheduleContext, node: Node): void {
  const [table, ids] = node.inputs as [number, number];
  const [rows, d] = ctx.graph.nodes[table]!.shape as [number, number];
  const label = nodeLabel(node);
  ctx.launch(gatherKernel(numel(ctx.graph.nodes[ids]!.shape), d, rows, label, ctx.maxWorkgroups), [ctx.buffer(table), ctx.buffer(ids), ctx.result(node)], label);
}

export function lowerScatterAdd(ctx: ScheduleContext, node: Node): void {
  const [updates, ids] = node.inputs as [number, number];
  const [rows, d] = node.shape as [number, number];
  const n = numel(ctx.graph.nodes[ids]!.shape);
  const chunks = Math.ceil(n / SCATTER_CHUNK);
  const label = nodeLabel(node);
  const sources = [ctx.buffer(updates), ctx.buffer(ids)];
  if (chunks <= 1) {
    ctx.launch(scatterAddKernel(rows, d, 0, n, 0, label, ctx.maxWorkgroups), [...sources, ctx.result(node)], label);
    return;
  }
  const partials = ctx.temp(node, 'partials', [chunks, rows, d]);
  for (let c = 0; c < chunks; c++) {
    const chunkLabel = nodeLabel(node, `chunk${c}`);
    const kernel = scatterAddKernel(rows, d, c * SCATTER_CHUNK, Math.min(n, (c + 1) * SCATTER_CHUNK), c * rows * d, chunkLabel, ctx.maxWorkgroups);
    ctx.launch(kernel, [...sources, partials], chunkLabel);
  }
  reduceAxis(ctx, node, partials, ctx.result(node), { outer: 1, axis: chunks, inner: rows * d }, 'add', undefined, 'sum');
}

/** The 32-bit word of a filled constant of the given dtype. */
function wordOf(value: number, dtype: 'f32' | 'i32'): number {
  if (dtype === 'i32') return value >>> 0;
  return new Uint32Array(Float32Array.of(value).buffer)[0]!;
}

export function lowerConcat(ctx: ScheduleContext, node: Node): void {
  const axis = attrsOf(node, 'concat').axis;
  const outer = numel(node.shape.slice(0, axis));
  const inner = numel(node.shape.slice(axis + 1));
  const total = node.shape[axis]!;
  const out = ctx.result(node);
  let start = 0;
  node.inputs.forEach((id, k) => {
    const src = ctx.graph.nodes[id]!;
    const extent = src.shape[axis]!;
    const fill = src.op === 'constant' && !ctx.hasBuffer(id) ? wordOf(attrsOf(src, 'constant').value, src.dtype) : undefined;
    const label = nodeLabel(node, `part${k}`);
    const kernel = regionCopyKernel({ outer, extent, inner, total, start }, fill, label, ctx.maxWorkgroups);
    ctx.launch(kernel, fill === undefined ? [ctx.buffer(id), out] : [out], label);
    start += extent;
  });
}
