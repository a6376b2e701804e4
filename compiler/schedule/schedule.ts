/**
 * scheduleGraph: a (fused or plain) graph → the ordered kernel launches that compute its outputs.
 *
 * Every graph input gets a buffer (the program's interface never shifts); every other node that
 * some output needs is lowered in topological order, by op family (lower*.ts). Reshapes and
 * reductions over extent-1 axes are aliases of their operand's buffer, not kernels; sources
 * (constants, iota, literals) get a buffer only when some kernel reads one. Outputs become
 * buffers of role 'output' (an output that is an input, or an alias of one, stays that buffer).
 * An output with the name of a state input is that state's new value: it is written into the
 * state's buffer, in place where possible (lowerKernelGroup.ts), else copied there at the end.
 */
import { OPS, shapesEqual, type Graph, type Node } from '../ir/index.ts';
import { liveNodes } from '../passes/deadCode.ts';
import { ScheduleContext } from './context.ts';
import { KernelGrouper, copyBuffer, planInPlace } from './lowerKernelGroup.ts';
import { nodeLabel } from './context.ts';
import { lowerLowRank } from './lowerLowRank.ts';
import { lowerFusedElementwise, lowerSingleElementwise, materializeSource } from './lowerElementwise.ts';
import { lowerConcat, lowerGather, lowerScatterAdd } from './lowerIndexing.ts';
import { lowerMatmul } from './lowerMatmul.ts';
import { lowerReduce } from './lowerReduce.ts';
import { lowerCrossEntropy, lowerLayerNorm, lowerSoftmax } from './lowerRows.ts';
import type { Schedule, ScheduleOptions, ScheduledOutput } from './types.ts';

function lower(ctx: ScheduleContext, node: Node): void {
  switch (node.op) {
    case 'input':
    case 'constant':
    case 'iota':
    case 'literal':
      return; // buffers made on first use
    case 'reshape':
      ctx.alias(node, ctx.buffer(node.inputs[0]!));
      return;
    case 'fusedElementwise':
      return lowerFusedElementwise(ctx, node);
    case 'matmul':
    case 'fusedMatmul':
      return lowerMatmul(ctx, node);
    case 'sum':
    case 'mean':
    case 'reduceMax':
      return lowerReduce(ctx, node);
    case 'softmax':
    case 'logSoftmax':
    case 'fusedSoftmax':
      return lowerSoftmax(ctx, node);
    case 'layerNorm':
      return lowerLayerNorm(ctx, node);
    case 'fusedLowRank':
      return lowerLowRank(ctx, node);
    case 'crossEntropy':
      return lowerCrossEntropy(ctx, node);
    case 'gather':
      return lowerGather(ctx, node);
    case 'scatterAdd':
      return lowerScatterAdd(ctx, node);
    case 'concat':
      return lowerConcat(ctx, node);
    default: {
      const kind = OPS[node.op].kind;
      if (kind === 'elementwise' || kind === 'layout') return lowerSingleElementwise(ctx, node);
      throw new Error(`schedule: no lowering for ${node.op} (%${node.id})`);
    }
  }
}

/** Ops that never launch a kernel when lowered (sources launch on first use, by their reader). */
const LAUNCH_FREE = new Set(['constant', 'iota', 'literal', 'reshape']);

export function scheduleGraph(g: Graph, options: ScheduleOptions = {}): Schedule {
  const ctx = new ScheduleContext(g, options, materializeSource);
  for (const input of g.inputs) {
    const node = g.nodes[input.node]!;
    ctx.alias(node, ctx.newBuffer(input.name, node.shape, node.dtype, input.role));
  }
  const live = liveNodes(g);
  // State updates (in place) and row writes go through the grouper; anything else that may
  // launch a kernel first launches the group pending before it.
  const grouper = new KernelGrouper(ctx, planInPlace(g, live));
  for (const node of g.nodes) {
    if (!live[node.id] || node.op === 'input') continue;
    if (grouper.accepts(node)) grouper.add(node);
    else {
      if (!LAUNCH_FREE.has(node.op)) grouper.flush();
      lower(ctx, node);
    }
  }
  grouper.flush();

  const outputs: ScheduledOutput[] = g.outputs.map((o) => {
    const node = g.nodes[o.node]!;
    let buffer = ctx.buffer(o.node);
    // A new state value not computed in place is copied into its state, after every other launch.
    const state = g.inputs.find((i) => i.name === o.name && i.role === 'state');
    const stateNode = state && g.nodes[state.node]!;
    if (stateNode && shapesEqual(stateNode.shape, node.shape) && stateNode.dtype === node.dtype && ctx.buffer(stateNode.id) !== buffer) {
      copyBuffer(ctx, buffer, ctx.buffer(stateNode.id), node, `${nodeLabel(node, 'copy')} → state ${o.name}`);
      buffer = ctx.buffer(stateNode.id);
    }
    const b = ctx.buffers[buffer]!;
    if (b.role === 'temp') {
      b.role = 'output';
      (b as { name: string }).name = o.name;
    }
    return { name: o.name, buffer, shape: [...node.shape], dtype: node.dtype };
  });
  return { buffers: ctx.buffers, launches: ctx.launches, outputs };
}
