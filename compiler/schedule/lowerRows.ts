/**
 * Row-wise ops: softmax and logSoftmax along any axis, layerNorm over the last axis, and the
 * mean cross-entropy (the library's per-row loss kernel, then its one-workgroup mean).
 * `planRows` picks a loop per row or a workgroup per row for the target.
 */
import { labelReduceWgsl, crossEntropyWgsl } from '../../kernels/softmax/cross-entropy.ts';
import { planRows } from '../../kernels/softmax/rows.ts';
import { packParams } from '../../kernels/params.ts';
import { attrsOf, fusedSoftmaxInput, numel, parseBody, type Node } from '../ir/index.ts';
import { layerNormKernel, rowGrid, softmaxKernel } from '../codegen/wgsl/rows.ts';
import { nodeLabel, type ScheduleContext } from './context.ts';

/** softmax, logSoftmax, and fusedSoftmax (with its elementwise prologue and epilogue). */
export function lowerSoftmax(ctx: ScheduleContext, node: Node): void {
  const fused = node.op === 'fusedSoftmax';
  const operands = node.inputs.map((id) => ctx.graph.nodes[id]!);
  const x = fused ? fusedSoftmaxInput(operands, attrsOf(node, 'fusedSoftmax')) : operands[0]!;
  const axis = attrsOf(node, 'softmax', 'logSoftmax', 'fusedSoftmax').axis;
  const dims = { outer: numel(x.shape.slice(0, axis)), cols: x.shape[axis]!, inner: numel(x.shape.slice(axis + 1)) };
  const strategy = planRows(dims.outer * dims.inner, dims.cols, 2, ctx.target);
  const label = nodeLabel(node);
  const kind = node.op === 'logSoftmax' || (fused && attrsOf(node, 'fusedSoftmax').log) ? 'logSoftmax' : 'softmax';
  const body = (attr: 'prologue' | 'epilogue') => {
    const text = fused ? attrsOf(node, 'fusedSoftmax')[attr] : '';
    return text !== '' ? parseBody(text) : undefined;
  };
  const kernel = softmaxKernel(kind, dims, strategy, label, ctx.maxWorkgroups, {
    operands,
    prologue: body('prologue'),
    epilogue: body('epilogue'),
  });
  ctx.launch(kernel, [...node.inputs.map((id) => ctx.buffer(id)), ctx.result(node)], label);
}

export function lowerLayerNorm(ctx: ScheduleContext, node: Node): void {
  const [x, gamma, beta] = node.inputs as [number, number, number];
  const shape = ctx.graph.nodes[x]!.shape;
  const cols = shape[shape.length - 1]!;
  const rows = numel(shape) / cols;
  const label = nodeLabel(node);
  const kernel = layerNormKernel(rows, cols, attrsOf(node, 'layerNorm').eps, planRows(rows, cols, 3, ctx.target), label, ctx.maxWorkgroups);
  ctx.launch(kernel, [ctx.buffer(x), ctx.buffer(gamma), ctx.buffer(beta), ctx.result(node)], label);
}

export function lowerCrossEntropy(ctx: ScheduleContext, node: Node): void {
  const [logits, labels] = node.inputs as [number, number];
  const [rows, cols] = ctx.graph.nodes[logits]!.shape as [number, number];
  const strategy = planRows(rows, cols, 1, ctx.target);
  const sizes = packParams([{ u32: rows }, { u32: cols }]);
  const losses = ctx.temp(node, 'losses', [rows]);
  const rowLabel = nodeLabel(node, 'rows');
  ctx.launch({
    spec: { label: rowLabel, wgsl: crossEntropyWgsl(strategy), bindings: ['read', 'read', 'read_write', 'uniform'] },
    uniform: sizes,
    workgroups: rowGrid(strategy, rows, ctx.maxWorkgroups),
  }, [ctx.buffer(logits), ctx.buffer(labels), losses], rowLabel);
  const meanLabel = nodeLabel(node, 'mean');
  ctx.launch({
    spec: { label: meanLabel, wgsl: labelReduceWgsl('mean'), bindings: ['read', 'read', 'read_write', 'uniform'] },
    uniform: sizes,
    workgroups: [1, 1, 1],
  }, [ctx.buffer(labels), losses, ctx.result(node)], meanLabel);
}
