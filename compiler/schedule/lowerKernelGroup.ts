/**
 * State updates in place, as one kernel: the scheduling rule behind a one-launch SWAG collect.
 *
 * - In place. A graph output with the name of a state input (same shape and dtype) is that
 *   state's new value — a posterior's `collect` outputs every statistic updated, under its name.
 *   When the update is an elementwise kernel or a row write, and nothing reads the old state
 *   after it, the kernel writes straight into the state's buffer (`planInPlace`). A ring buffer's
 *   row write then touches one row, not K: the other rows are already in place.
 * - One kernel. Consecutive in-place updates (SWAG's mean and sq_mean, [p], its deviation row,
 *   p elements of D [K, p], and a count's row of one element) are one launch with several
 *   outputs (codegen/wgsl/kernelGroup.ts), each element computed and stored in order, so a later
 *   update reads an earlier one's new value (D's row reads the new mean) at the same element.
 *   A group the emitter refuses (a written buffer read at another element) is split.
 * - A row write that cannot be in place (its buffer is read again later, or is not a state)
 *   copies the buffer first, then writes its row.
 * - Any other new state value (one computed by another kind of kernel, or whose old value is
 *   read later) is copied into the state at the end (scheduleGraph), so after every run the
 *   state buffers hold the outputs of their names, whichever way they were computed.
 */
import { attrsOf, numel, parseBody, shapesEqual, type BodyInstruction, type Graph, type Node, type TypeInfo } from '../ir/index.ts';
import { groupKernel, type GroupMemberKernel } from '../codegen/wgsl/kernelGroup.ts';
import { elementwiseKernel } from '../codegen/wgsl/elementwise.ts';
import { nodeLabel, type ScheduleContext } from './context.ts';

const UPDATES = new Set(['fusedElementwise', 'writeRow', 'fusedWriteRow']);

/** Nodes whose value is written into a state's buffer: node id → the state input's node id. */
export function planInPlace(g: Graph, live: readonly boolean[]): Map<number, number> {
  const plan = new Map<number, number>();
  const outputCount = new Map<number, number>();
  for (const o of g.outputs) outputCount.set(o.node, (outputCount.get(o.node) ?? 0) + 1);
  for (const o of g.outputs) {
    const x = g.nodes[o.node]!;
    if (!UPDATES.has(x.op) || outputCount.get(x.id) !== 1) continue;
    const input = g.inputs.find((i) => i.name === o.name && i.role === 'state');
    if (!input || outputCount.has(input.node)) continue;
    const s = g.nodes[input.node]!;
    if (!shapesEqual(s.shape, x.shape) || s.dtype !== x.dtype) continue;
    // Every reader of the old value runs no later than the update, in a kernel of its own kind
    // (never an alias, whose readers could run after it).
    const readers = g.nodes.filter((n) => live[n.id] && n.inputs.includes(s.id));
    if (!readers.every((r) => r.id <= x.id && UPDATES.has(r.op))) continue;
    if ((x.op === 'writeRow' || x.op === 'fusedWriteRow') && x.inputs[0] !== s.id) continue;
    plan.set(x.id, s.id);
  }
  return plan;
}

/** Launches a copy of buffer `from` (holding a value of `type`) into buffer `to`. */
export function copyBuffer(ctx: ScheduleContext, from: number, to: number, type: TypeInfo, label: string): void {
  const copy = elementwiseKernel(identity(0, type.shape), [type], label, ctx.maxWorkgroups);
  ctx.launch(copy, [from, to], label);
}

/** The identity body over operand `k` of the given shape. */
function identity(k: number, shape: readonly number[]): BodyInstruction[] {
  return [{ op: 'reshape', args: [{ operand: k }], attrs: { shape: [...shape] } }];
}

interface Member {
  readonly node: Node;
  /** Everything but the buffer written. */
  readonly kernel: Omit<GroupMemberKernel, 'out'>;
}

export class KernelGrouper {
  private pending: { member: Member; out: number }[] = [];

  constructor(
    private readonly ctx: ScheduleContext,
    private readonly inPlace: ReadonlyMap<number, number>,
  ) {}

  /** Nodes this lowers: in-place updates and every row write. */
  accepts(node: Node): boolean {
    return this.inPlace.has(node.id) || node.op === 'writeRow' || node.op === 'fusedWriteRow';
  }

  add(node: Node): void {
    const member = this.member(node);
    const state = this.inPlace.get(node.id);
    if (state !== undefined) {
      const out = this.ctx.buffer(state);
      if (this.pending.length && this.tryEmit([...this.pending, { member, out }], false)) {
        this.pending.push({ member, out });
        this.ctx.alias(node, out);
        return;
      }
      this.flush();
      if (this.tryEmit([{ member, out }], false)) {
        this.pending = [{ member, out }];
        this.ctx.alias(node, out);
        return;
      }
    }
    // Not in place: a fresh buffer (a row write starts from a copy of its buffer).
    this.flush();
    const out = this.ctx.result(node);
    if (member.kernel.rows !== undefined) {
      const old = this.ctx.graph.nodes[node.inputs[0]!]!;
      copyBuffer(this.ctx, this.ctx.buffer(old.id), out, old, nodeLabel(node, 'copy'));
    }
    this.pending = [{ member, out }];
    this.flush();
  }

  /** Launches the pending group. */
  flush(): void {
    if (!this.pending.length) return;
    const kernel = this.tryEmit(this.pending, true);
    if (!kernel) throw new Error(`schedule: cannot emit ${this.pending.map((p) => nodeLabel(p.member.node)).join(', ')}`);
    this.pending = [];
  }

  private tryEmit(group: readonly { member: Member; out: number }[], launch: boolean): boolean {
    const label = group.map((p) => nodeLabel(p.member.node)).join(' | ');
    const kernel = groupKernel(group.map((p) => ({ ...p.member.kernel, out: p.out })), label, this.ctx.maxWorkgroups);
    if (!kernel) return false;
    if (launch) this.ctx.launch(kernel, kernel.buffers, label);
    return true;
  }

  private member(node: Node): Member {
    const g = this.ctx.graph;
    const typed = (ids: readonly number[]) => ({ operands: ids.map((id) => this.ctx.buffer(id)), types: ids.map((id) => g.nodes[id]!) });
    const rows = node.shape[0]!;
    const rowShape = node.shape.slice(1);
    switch (node.op) {
      case 'fusedElementwise':
        return { node, kernel: { n: numel(node.shape), body: parseBody(attrsOf(node, 'fusedElementwise').body), outDtype: node.dtype, ...typed(node.inputs) } };
      case 'writeRow':
        return { node, kernel: { n: numel(rowShape), body: identity(0, rowShape), index: identity(1, []), rows, outDtype: node.dtype, ...typed(node.inputs.slice(1)) } };
      case 'fusedWriteRow':
        return {
          node,
          kernel: { n: numel(rowShape), body: parseBody(attrsOf(node, 'fusedWriteRow').row), index: parseBody(attrsOf(node, 'fusedWriteRow').index), rows, outDtype: node.dtype, ...typed(node.inputs.slice(1)) },
        };
      default:
        throw new Error(`schedule: ${node.op} (%${node.id}) is not a state update`);
    }
  }
}
