/**
 * scheduleGraph: a (fused or plain) graph → the ordered kernel launches that compute its outputs.
 *
 * Every graph input gets a buffer (the program's interface never shifts); every other node that
 * some output needs is lowered in topological order, by op family (lower*.ts). Reshapes and
 * reductions over extent-1 axes are aliases of their operand's buffer, not kernels; sources
 * (constants, iota, literals) get a buffer only when some kernel reads one. Outputs become
 * buffers of role 'output' (an output that is an input, or an alias of one, stays that buffer).
 */
import { OPS, type Graph, type Node } from '../ir/index.ts';
import { liveNodes } from '../passes/deadCode.ts';
import { ScheduleContext } from './context.ts';
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

export function scheduleGraph(g: Graph, options: ScheduleOptions = {}): Schedule {
  const ctx = new ScheduleContext(g, options, materializeSource);
  for (const input of g.inputs) {
    const node = g.nodes[input.node]!;
    ctx.alias(node, ctx.newBuffer(input.name, node.shape, node.dtype, input.role));
  }
  const live = liveNodes(g);
  for (const node of g.nodes) if (live[node.id] && node.op !== 'input') lower(ctx, node);

  const outputs: ScheduledOutput[] = g.outputs.map((o) => {
    const node = g.nodes[o.node]!;
    const buffer = ctx.buffer(o.node);
    const b = ctx.buffers[buffer]!;
    if (b.role === 'temp') {
      b.role = 'output';
      (b as { name: string }).name = o.name;
    }
    return { name: o.name, buffer, shape: [...node.shape], dtype: node.dtype };
  });
  return { buffers: ctx.buffers, launches: ctx.launches, outputs };
}
