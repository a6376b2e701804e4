/**
 * Posterior draws as one batched pass: a forward graph over one set of parameters → the same
 * forward over S sets at once (Bayesian model averaging in one launch sequence).
 *
 * - Every trainable parameter `P` [...] becomes an input `draws.P` [S, ...]: slice s holds draw s.
 * - A node *varies* when it depends on a parameter. A varying node of shape [...] becomes
 *   [S, ...] (slice s = the node's value under draw s); every other node is copied unchanged, so
 *   what does not depend on the parameters (the frozen prefix left in the graph, the frozen base
 *   products x·Wᵀ of shared inputs, masks) is computed once and broadcast to every draw.
 * - Ops see the extra leading axis: axes of reductions, softmax, slices, concats and transposes
 *   shift by one; reshapes and broadcasts gain it. Elementwise ops need nothing beyond padding
 *   a varying operand of lower rank ([S, 1, ..., ...]), since shared operands broadcast by
 *   trailing alignment.
 * - A matmul against a 2-D right operand folds the draws into rows, so the kernels keep the
 *   shapes of one forward, taller: varying x [S·rows, k] · shared W → one 2-D matmul; shared x
 *   [rows, k] · per-draw Aₛ [S, r, k] → one batched matmul reading x for every draw (stride 0);
 *   per-draw u [S, rows, r] · per-draw Bₛ [S, n, r] → one batched matmul.
 * - Every output gains the leading draws axis (a shared one is broadcast).
 *
 * What no forward pass needs is refused with a clear error rather than guessed at: a trainable
 * embedding table (gather), scatters, losses, ring-buffer writes, fused ops (the pass runs before
 * fusion), and dropout on a varying value (its mask is drawn per element index, so a draw's
 * mask would differ from the one its own forward draws).
 */
import { GraphBuilder, IRError, attrsOf, numel, opSpec, type Graph, type Node, type Value } from '../ir/index.ts';

/** The input name that carries parameter `path` for every draw. */
export const drawsInputName = (path: string) => `draws.${path}`;

export class BatchDrawsError extends IRError {
  override name = 'BatchDrawsError';
}

/** Which nodes depend on a trainable parameter. */
export function varyingNodes(g: Graph): boolean[] {
  const params = new Set(g.inputs.filter((i) => i.role === 'param').map((i) => i.node));
  const varies: boolean[] = [];
  for (const n of g.nodes) varies.push(params.has(n.id) || n.inputs.some((i) => varies[i]));
  return varies;
}

/**
 * Draws per pass for `draws` in all: as few passes as fit `maxBufferBytes` (a storage binding's
 * size limit) with their biggest tensor (a varying value of one draw, times the draws per pass),
 * then as few draws per pass as those passes need, so the last pass wastes the fewest slots
 * (15 draws where 10 fit: two passes of 8, not 10 and 5). At least 1.
 */
export function drawsPerPass(g: Graph, draws: number, maxBufferBytes: number): number {
  const varies = varyingNodes(g);
  let largest = 0;
  for (const n of g.nodes) if (varies[n.id]) largest = Math.max(largest, numel(n.shape) * 4);
  const fit = largest === 0 ? draws : Math.max(1, Math.min(draws, Math.floor(maxBufferBytes / largest)));
  return Math.ceil(draws / Math.ceil(draws / fit));
}

/** `g` over `draws` parameter sets at once (see the module doc). */
export function batchDraws(g: Graph, draws: number): Graph {
  if (!(Number.isInteger(draws) && draws >= 1)) throw new BatchDrawsError(`batchDraws: the number of draws must be a positive integer, got ${draws}`);
  const S = draws;
  const b = new GraphBuilder();
  const varies = varyingNodes(g);
  const mapped: Value[] = [];

  /** A varying value [S, ...s] as rank 1 + `rank`: [S, 1, ..., 1, ...s], so S never meets a data axis. */
  const padded = (v: Value, rank: number): Value => {
    const missing = rank + 1 - v.shape.length;
    return missing <= 0 ? v : b.reshape(v, [S, ...new Array<number>(missing).fill(1), ...v.shape.slice(1)]);
  };
  /** Operand `id` of a node whose (one-draw) result has rank `rank`. */
  const operand = (id: number, rank: number): Value => (varies[id] ? padded(mapped[id]!, rank) : mapped[id]!);
  /** A shared value as [S, ...]: for ops (concat) whose operands must all carry the axis. */
  const perDraw = (id: number): Value => (varies[id] ? mapped[id]! : b.broadcastTo(mapped[id]!, [S, ...mapped[id]!.shape]));
  const refuse = (node: Node, what: string): never => {
    throw new BatchDrawsError(`batchDraws: ${node.op} %${node.id}${node.name ? ` (${node.name})` : ''} ${what}`);
  };

  for (const node of g.nodes) {
    if (node.op === 'input') {
      const input = g.inputs.find((i) => i.node === node.id)!;
      mapped[node.id] = input.role === 'param'
        ? b.input(drawsInputName(input.name), [S, ...node.shape], { role: 'input', dtype: node.dtype, ...(node.span ? { span: node.span } : {}) })
        : b.input(input.name, node.shape, { role: input.role, dtype: node.dtype, ...(node.span ? { span: node.span } : {}) });
      continue;
    }
    const meta = { ...(node.span ? { span: node.span } : {}), ...(node.name !== undefined ? { name: node.name } : {}) };
    if (!varies[node.id]) {
      mapped[node.id] = b.node(node.op, node.inputs.map((i) => mapped[i]!), node.attrs, meta);
      continue;
    }
    mapped[node.id] = batchedNode(node);
    const want = [S, ...node.shape];
    const got = mapped[node.id]!.shape;
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new BatchDrawsError(`batchDraws: ${node.op} %${node.id} became [${got.join(', ')}], expected [${want.join(', ')}]`);
    }
  }

  function batchedNode(node: Node): Value {
    const meta = { ...(node.span ? { span: node.span } : {}), ...(node.name !== undefined ? { name: node.name } : {}) };
    const rank = node.shape.length;
    const kind = opSpec(node.op).kind;
    switch (kind) {
      case 'elementwise': {
        if (node.op === 'dropout') refuse(node, 'drops out a value that depends on the parameters: its mask would differ from the one each draw\'s own forward draws');
        return b.node(node.op, node.inputs.map((i) => operand(i, rank)), node.attrs, meta);
      }
      case 'reduction': {
        const { axes, keepDims } = attrsOf(node, 'sum', 'mean', 'reduceMax');
        return b.node(node.op, [operand(node.inputs[0]!, g.nodes[node.inputs[0]!]!.shape.length)], { axes: axes.map((a) => a + 1), keepDims }, meta);
      }
      case 'rowwise': {
        if (node.op === 'layerNorm') return layerNorm(node, meta);
        const { axis } = attrsOf(node, 'softmax', 'logSoftmax');
        return b.node(node.op, [operand(node.inputs[0]!, rank)], { axis: axis + 1 }, meta);
      }
      case 'matmul':
        return matmul(node, meta);
      case 'layout':
        return layout(node, meta);
      default:
        return refuse(node, node.op === 'gather' ? 'reads a trainable table: an adapted embedding is not supported' : `(${kind}) has no batched form here: the pass takes a forward graph before fusion`);
    }
  }

  function layerNorm(node: Node, meta: object): Value {
    const [x, gamma, beta] = node.inputs as [number, number, number];
    const { eps } = attrsOf(node, 'layerNorm');
    const rank = node.shape.length;
    if (!varies[gamma] && !varies[beta]) return b.node('layerNorm', [operand(x, rank), mapped[gamma]!, mapped[beta]!], { eps }, meta);
    // Per-draw scale or shift: normalise with unit ones, then apply each draw's own.
    const d = node.shape[rank - 1]!;
    const unit = b.node('layerNorm', [operand(x, rank), b.constant(1, [d]), b.constant(0, [d])], { eps });
    return b.node('add', [b.node('mul', [padded(unit, rank), operand(gamma, rank)]), operand(beta, rank)], {}, meta);
  }

  function matmul(node: Node, meta: object): Value {
    const [ia, ib] = node.inputs as [number, number];
    const { transA, transB } = attrsOf(node, 'matmul');
    const [sa, sb] = [g.nodes[ia]!.shape, g.nodes[ib]!.shape];
    const [va, vb] = [varies[ia]!, varies[ib]!];
    if (sb.length === 2 && !transA) {
      // A's leading axes are rows: fold them (and the draws, when only A varies) into M.
      const rows = numel(sa.slice(0, -1));
      const k = sa[sa.length - 1]!;
      const a = va ? b.reshape(mapped[ia]!, vb ? [S, rows, k] : [S * rows, k]) : sa.length === 2 ? mapped[ia]! : b.reshape(mapped[ia]!, [rows, k]);
      const y = b.node('matmul', [a, mapped[ib]!], { transA, transB });
      return b.node('reshape', [y], { shape: [S, ...node.shape] }, meta);
    }
    // Batched on both sides: each varying operand padded to the result's batch rank.
    const rank = node.shape.length;
    return b.node('matmul', [operand(ia, rank), operand(ib, rank)], { transA, transB }, meta);
  }

  function layout(node: Node, meta: object): Value {
    const x = node.inputs[0]!;
    switch (node.op) {
      case 'reshape':
        return b.node('reshape', [mapped[x]!], { shape: [S, ...node.shape] }, meta);
      case 'transpose': {
        const { perm } = attrsOf(node, 'transpose');
        return b.node('transpose', [mapped[x]!], { perm: [0, ...perm.map((p) => p + 1)] }, meta);
      }
      case 'broadcastTo':
        return b.node('broadcastTo', [operand(x, node.shape.length)], { shape: [S, ...node.shape] }, meta);
      case 'slice': {
        const { axis, start, size } = attrsOf(node, 'slice');
        return b.node('slice', [mapped[x]!], { axis: axis + 1, start, size }, meta);
      }
      case 'concat': {
        const { axis } = attrsOf(node, 'concat');
        return b.node('concat', node.inputs.map(perDraw), { axis: axis + 1 }, meta);
      }
      default:
        return refuse(node, 'is a layout op the pass does not know');
    }
  }

  for (const o of g.outputs) b.output(o.name, varies[o.node] ? mapped[o.node]! : b.broadcastTo(mapped[o.node]!, [S, ...mapped[o.node]!.shape]));
  return b.build();
}
