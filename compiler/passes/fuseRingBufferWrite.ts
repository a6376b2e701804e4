/**
 * The ring-buffer write of a posterior's `last(K, e)`, which the lowering spells
 * `select(eq(iota [K, 1, ...] along 0, slot), e as [1, ...], old)` over all K rows, becomes a row
 * write that touches only the row's elements:
 *
 * - `recognizeRingBufferWrite` (before fuseElementwise): that select → `writeRow(old, e, slot)`
 *   (either operand order of the eq; the row as [1, ...] or as [...]);
 * - `fuseRingBufferWrite` (after fuseElementwise): the elementwise producers of the row and of the
 *   slot move into the write when nothing else reads them, or when they are scalars (a slot
 *   several rings share) or constants, cheap to recompute → `fusedWriteRow(old, reads...)
 *   {row, index}`, one kernel that computes the row and its index and writes that row only.
 *
 * Both are exact: writeRow is defined as that select (an index that is not a whole number in
 * [0, K) writes nothing). The scheduler writes the row in place when the buffer is the state the
 * graph updates (schedule/lowerKernelGroup.ts).
 */
import { attrsOf, numel, parseBody, printBody, shapesEqual, type BodyArg, type BodyInstruction, type Graph, type Node, type Value } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { hasSingleUse, outputIds, rebuild, usersOf } from './fuseHelpers.ts';

/** The slot of `eq(iota along 0 of [K, 1, ...], slot)` (either order) for a buffer of K rows. */
function ringSlot(g: Graph, cond: Node, K: number, rank: number): number | undefined {
  if (cond.op !== 'eq') return undefined;
  const [a, b] = cond.inputs.map((i) => g.nodes[i]!) as [Node, Node];
  const isRowIota = (n: Node) =>
    n.op === 'iota' && n.dtype === 'f32' && n.attrs.axis === 0 && n.shape.length === rank && n.shape[0] === K && n.shape.slice(1).every((d) => d === 1);
  const isScalar = (n: Node) => n.dtype === 'f32' && n.shape.length === 0;
  if (isRowIota(a) && isScalar(b)) return b.id;
  if (isRowIota(b) && isScalar(a)) return a.id;
  return undefined;
}

export function recognizeRingBufferWrite(g: Graph): Graph {
  let changed = false;
  const out = rebuild(g, (node, ctx) => {
    if (node.op !== 'select') return undefined;
    const [c, x, old] = node.inputs.map((i) => g.nodes[i]!) as [Node, Node, Node];
    if (old.shape.length < 1 || !shapesEqual(old.shape, node.shape) || x.dtype !== old.dtype) return undefined;
    const rest = old.shape.slice(1);
    const slot = ringSlot(g, c, old.shape[0]!, old.shape.length);
    if (slot === undefined) return undefined;
    let row: Value;
    if (shapesEqual(x.shape, rest)) row = ctx.valueOf(x.id);
    else if (shapesEqual(x.shape, [1, ...rest])) {
      const inner = g.nodes[x.inputs[0]!];
      row = x.op === 'reshape' && inner && shapesEqual(inner.shape, rest) ? ctx.valueOf(inner.id) : ctx.builder.reshape(ctx.valueOf(x.id), rest);
    } else return undefined;
    changed = true;
    return ctx.builder.node('writeRow', [ctx.valueOf(old.id), row, ctx.valueOf(slot)], {}, { span: node.span, name: node.name });
  });
  return changed ? eliminateDeadCode(out) : g;
}

/** A body over `reads`: the producer's own body (operands renumbered) or, for any other value, the value itself. */
function bodyOver(g: Graph, producer: Node, inline: boolean, reads: number[]): BodyInstruction[] {
  const readOf = (id: number): number => {
    let k = reads.indexOf(id);
    if (k < 0) k = reads.push(id) - 1;
    return k;
  };
  if (!inline) {
    // The identity: a reshape to its own shape.
    return [{ op: 'reshape', args: [{ operand: readOf(producer.id) }], attrs: { shape: [...producer.shape] } }];
  }
  const value = constantValue(g, producer);
  if (value !== undefined) return [{ op: 'constant', args: [], attrs: { value, shape: [...producer.shape], dtype: 'f32' } }];
  return parseBody(attrsOf(producer, 'fusedElementwise').body).map((ins) => ({
    ...ins,
    args: ins.args.map((a): BodyArg => ('operand' in a ? { operand: readOf(producer.inputs[a.operand]!) } : a)),
  }));
}

/** The value of a filled f32 constant, seen through reshapes. */
function constantValue(g: Graph, n: Node): number | undefined {
  while (n.op === 'reshape') n = g.nodes[n.inputs[0]!]!;
  return n.op === 'constant' && n.dtype === 'f32' ? attrsOf(n, 'constant').value : undefined;
}

export interface FuseRingBufferWriteOptions {
  /** Most buffers the write may read besides its own (default 7). */
  readonly maxOperands?: number;
}

export function fuseRingBufferWrite(g: Graph, options: FuseRingBufferWriteOptions = {}): Graph {
  const maxOperands = options.maxOperands ?? 7;
  const users = usersOf(g);
  const outputs = outputIds(g);
  // A producer only this write reads, or a scalar (a ring slot two writes share) cheap to recompute.
  const absorbable = (id: number) => {
    const n = g.nodes[id]!;
    if (constantValue(g, n) !== undefined) return true;
    return n.op === 'fusedElementwise' && (hasSingleUse(g, users, outputs, id) || numel(n.shape) === 1);
  };
  let changed = false;
  const out = rebuild(g, (node, ctx) => {
    if (node.op !== 'writeRow') return undefined;
    const [buffer, row, index] = node.inputs as [number, number, number];
    if (!absorbable(row) && !absorbable(index)) return undefined;
    const reads: number[] = [];
    const rowBody = bodyOver(g, g.nodes[row]!, absorbable(row), reads);
    const indexBody = bodyOver(g, g.nodes[index]!, absorbable(index), reads);
    if (reads.length > maxOperands || reads.includes(buffer)) return undefined;
    changed = true;
    return ctx.builder.node('fusedWriteRow', [ctx.valueOf(buffer), ...reads.map(ctx.valueOf)], { row: printBody(rowBody), index: printBody(indexBody) }, { span: node.span, name: node.name });
  });
  return changed ? eliminateDeadCode(out) : g;
}

/** Elements a row write touches: one row. */
export function rowElements(node: Node): number {
  return numel(node.shape) / node.shape[0]!;
}
