/**
 * matmul and fusedMatmul → one library matmul launch. The IR's batched matmul broadcasts any
 * leading axes; the kernel takes one batch axis with a stride per operand (0 = the same matrix
 * for every batch entry). So an operand's batch is either full (stride = its matrix size) or
 * a single matrix; a partially broadcast operand is first copied out to the full batch.
 * When only A is batched and read untransposed, the batch folds into M: one big 2-D matmul.
 */
import { shapeClassKey } from '../../kernels/matmul/autotune.ts';
import { configProblem, defaultConfig, type MatmulConfig, type MatmulShape } from '../../kernels/matmul/config.ts';
import { attrsOf, fusedMatmulOperands, numel, type Node } from '../ir/index.ts';
import { elementwiseKernel } from '../codegen/wgsl/elementwise.ts';
import { matmulKernel, type MatmulDims, type MatmulEpilogue } from '../codegen/wgsl/matmul.ts';
import { SKINNY_MAX_N, skinnyMatmulKernel } from '../codegen/wgsl/skinnyMatmul.ts';
import { skinnyTransAMatmulKernel } from '../codegen/wgsl/skinnyTransAMatmul.ts';
import { nodeLabel, type ScheduleContext } from './context.ts';

/** How one operand is laid out over the output's batch. */
interface Operand {
  buffer: number;
  rows: number;
  cols: number;
  /** True when it has one matrix per batch entry; false when one matrix serves all. */
  full: boolean;
}

function matrixOf(ctx: ScheduleContext, node: Node, id: number, batch: readonly number[], what: string): Operand {
  const src = ctx.graph.nodes[id]!;
  const rank = src.shape.length;
  const rows = src.shape[rank - 2]!;
  const cols = src.shape[rank - 1]!;
  const own = src.shape.slice(0, -2);
  if (numel(own) === 1) return { buffer: ctx.buffer(id), rows, cols, full: false };
  const strip = (s: readonly number[]) => s.slice(s.findIndex((d) => d !== 1));
  const a = strip(own);
  const b = strip(batch);
  if (a.length === b.length && a.every((d, i) => d === b[i])) return { buffer: ctx.buffer(id), rows, cols, full: true };
  // Partly broadcast (e.g. [2, 1, M, K] against a batch of [2, 3]): copy it out to the full batch.
  const shape = [...batch, rows, cols];
  const label = nodeLabel(node, `broadcast.${what}`);
  const kernel = elementwiseKernel([{ op: 'broadcastTo', args: [{ operand: 0 }], attrs: { shape } }], [src], label, ctx.maxWorkgroups);
  const out = ctx.temp(node, `broadcast.${what}`, shape);
  ctx.launch(kernel, [ctx.buffer(id), out], label);
  return { buffer: out, rows, cols, full: true };
}

/**
 * The tile config: the autotuner's choice for this shape class if given, else the default. The
 * caller's `onMatmulClass` hears of the class either way.
 */
export function chooseMatmulConfig(ctx: ScheduleContext, shape: Required<MatmulShape>, transA: boolean, transB: boolean): MatmulConfig {
  const key = shapeClassKey({ ...shape, transA, transB });
  const tuned = ctx.options.matmulConfigs?.[key];
  const config = tuned && configProblem(tuned, ctx.limits) === undefined ? tuned : defaultConfig(shape, ctx.limits, ctx.target);
  ctx.options.onMatmulClass?.({ key, shape: { ...shape }, transA, transB, config });
  return config;
}

export function lowerMatmul(ctx: ScheduleContext, node: Node): void {
  const { transA, transB } = attrsOf(node, 'matmul', 'fusedMatmul');
  const f = node.op === 'fusedMatmul' ? attrsOf(node, 'fusedMatmul') : undefined;
  const fused = f !== undefined;
  const at = f ? fusedMatmulOperands(f) : { count: 2 };
  const e: MatmulEpilogue = {
    transA,
    transB,
    concat: fused && f.concat,
    concatScale: fused ? f.concatScale : 1,
    bias: fused && f.bias,
    rowBias: fused && f.rowBias,
    alpha: fused ? f.alpha : 1,
    scale: fused ? f.scale : 1,
    activation: fused ? f.activation : '',
  };
  const rank = node.shape.length;
  const batchShape = node.shape.slice(0, -2);
  let batch = numel(batchShape);
  let M = node.shape[rank - 2]!;
  const N = node.shape[rank - 1]!;

  const a = matrixOf(ctx, node, node.inputs[0]!, batchShape, 'a');
  const b = matrixOf(ctx, node, node.inputs[1]!, batchShape, 'b');
  const K = e.transA ? a.rows : a.cols;
  const a2 = 'a2' in at && at.a2 !== undefined ? matrixOf(ctx, node, node.inputs[at.a2]!, batchShape, 'a2') : undefined;
  const b2 = 'b2' in at && at.b2 !== undefined ? matrixOf(ctx, node, node.inputs[at.b2]!, batchShape, 'b2') : undefined;
  const extra: number[] = [];
  if ('bias' in at && at.bias !== undefined) extra.push(ctx.buffer(node.inputs[at.bias]!));
  if ('rowBias' in at && at.rowBias !== undefined) extra.push(ctx.buffer(node.inputs[at.rowBias]!));

  const stride = (o: Operand | undefined) => (o && o.full && batch > 1 ? o.rows * o.cols : 0);
  // Only A is batched (and contiguous along M): the batch is just more rows.
  const foldable = batch > 1 && a.full && !e.transA && !b.full && !e.rowBias && (!a2 || (a2.full && !b2!.full));
  if (foldable) {
    M *= batch;
    batch = 1;
  }
  const label = nodeLabel(node);
  if (ctx.target === 'cpu' && skinny(M, N, K, batch, e, a2 !== undefined || extra.length > 0)) {
    ctx.launch(skinnyMatmulKernel({ M, N, K, transB: e.transB, alpha: e.alpha }, label, ctx.maxWorkgroups), [a.buffer, b.buffer, ctx.result(node)], label);
    return;
  }
  if (ctx.target === 'cpu' && skinnyTransA(M, N, K, batch, e, a2 !== undefined || extra.length > 0)) {
    ctx.launch(skinnyTransAMatmulKernel({ M, N, K, alpha: e.alpha }, label, ctx.maxWorkgroups), [a.buffer, b.buffer, ctx.result(node)], label);
    return;
  }
  const dims: MatmulDims = {
    M, N, K,
    K2: a2 ? a2.cols : 0,
    batch,
    strideA: stride(a),
    strideB: stride(b),
    strideA2: stride(a2),
    strideB2: stride(b2),
  };
  const config = chooseMatmulConfig(ctx, { M, N, K, K2: dims.K2, batch }, e.transA, e.transB);
  const kernel = matmulKernel(dims, e, config, label, ctx.maxWorkgroups);
  const buffers = [a.buffer, b.buffer, ...(a2 ? [a2.buffer, b2!.buffer] : []), ...extra, ctx.result(node)];
  ctx.launch(kernel, buffers, label);
}

/**
 * A product with few output columns and many rows (LoRA's u = x·Aᵀ, N = r), nothing fused but a
 * scale: the skinny kernel (codegen/wgsl/skinnyMatmul.ts) on llvmpipe, where a tiled matmul would
 * give it a handful of workgroups.
 */
export function skinny(M: number, N: number, K: number, batch: number, e: MatmulEpilogue, extraOperands: boolean): boolean {
  return batch === 1 && N >= 2 && N <= SKINNY_MAX_N && M >= 128 && K >= 16 && !e.transA && plainEpilogue(e, extraOperands);
}

/**
 * Aᵀ·B with a narrow side (M or N ≤ 16), a wide one and a long K, nothing fused but a scale:
 * the weight gradients of LoRA's A and B (gA = (g·B)ᵀ·x, gB = gᵀ·u), a reduction over every
 * token. The skinny Aᵀ·B kernel (codegen/wgsl/skinnyTransAMatmul.ts) on llvmpipe.
 */
export function skinnyTransA(M: number, N: number, K: number, batch: number, e: MatmulEpilogue, extraOperands: boolean): boolean {
  return batch === 1 && e.transA && !e.transB && Math.min(M, N) <= SKINNY_MAX_N && Math.max(M, N) >= 64 && K >= 64 && plainEpilogue(e, extraOperands);
}

/** Nothing fused into the product but its scale α. */
function plainEpilogue(e: MatmulEpilogue, extraOperands: boolean): boolean {
  return !extraOperands && !e.concat && !e.bias && !e.rowBias && e.scale === 1 && e.activation === '';
}

