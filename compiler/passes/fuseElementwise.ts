/**
 * Loop fusion: chains and trees of elementwise ops — with their broadcasts, scalar constants,
 * index remaps (broadcastTo, transpose, slice, size-1 reshapes) and sources (constant, iota,
 * small literals) — become one `fusedElementwise` node each, one kernel that reads every
 * external operand once and writes one result.
 *
 * Groups grow from a root (a value something outside the group needs: a graph output, or an
 * operand of a matmul, reduction, row op, ...) towards its operands, in reverse topological
 * order, absorbing an operand when
 *  - it is an op a body may hold (`isBodyOp`), and
 *  - every use of it is inside the group (so it never needs its own buffer), or it costs
 *    nothing to recompute: a source, an index remap of a value the group reads anyway, or a
 *    scalar computed from such values and scalar operands;
 *  - the group still reads at most `maxOperands` buffers (storage bindings are limited).
 * General reshapes stay outside: they are free aliases of a buffer, never kernels. A reduction
 * of a small buffer (≤ MAX_BODY_REDUCTION elements) to a scalar is a body op too, a loop in the
 * kernel (e.g. the count of filled ring rows a SWAG sample scales by).
 */
import { OPS, attrsOf, instructionOf, isBodyOp, isBodyReduction, numel, printBody, type BodyArg, type BodyInstruction, type Graph, type Node } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { outputIds, rebuild, usersOf } from './fuseHelpers.ts';

export interface FuseElementwiseOptions {
  /** Most buffers one fused kernel may read (its output takes one more binding). Default 7. */
  readonly maxOperands?: number;
  /** Largest literal inlined into a kernel's text (larger ones are read from a buffer). Default 64. */
  readonly maxInlineLiteral?: number;
}

/** A reshape that only inserts or removes extent-1 axes: an index remap, not a relayout. */
export function isUnitReshape(node: Node, operand: Node): boolean {
  const core = (s: readonly number[]) => s.filter((d) => d !== 1).join(',');
  return node.op === 'reshape' && core(node.shape) === core(operand.shape);
}

/** A fused group: its root and members (node ids of the source graph). */
export interface ElementwiseGroup {
  readonly root: number;
  readonly members: ReadonlySet<number>;
}

/** Decides the groups, in reverse topological order of their roots. */
export function elementwiseGroups(g: Graph, options: FuseElementwiseOptions = {}): ElementwiseGroup[] {
  const maxOperands = options.maxOperands ?? 7;
  const maxLiteral = options.maxInlineLiteral ?? 64;
  const users = usersOf(g);
  const outputs = outputIds(g);

  const fusible: boolean[] = [];
  for (const n of g.nodes) fusible[n.id] = isFusible(n);
  function isFusible(n: Node): boolean {
    if (!isBodyOp(n.op)) return false;
    // A reduction only of a small value read from a buffer, whole, to a scalar (of one element it
    // is a free alias in the scheduler, better left alone).
    if (OPS[n.op].kind === 'reduction') {
      const x = g.nodes[n.inputs[0]!]!;
      return !fusible[x.id] && numel(x.shape) > 1 && isBodyReduction(x, attrsOf(n, 'sum', 'mean', 'reduceMax'));
    }
    if (n.op === 'reshape') return isUnitReshape(n, g.nodes[n.inputs[0]!]!);
    if (n.op === 'literal') return numel(n.shape) <= maxLiteral;
    return true;
  }
  // Free to recompute in every group that wants it: sources, and remaps of a leaf (or of such a remap).
  const duplicable: boolean[] = [];
  for (const n of g.nodes) {
    const kind = n.op === 'constant' || n.op === 'iota' || n.op === 'literal' ? 'source' : isLayout(n) ? 'remap' : 'other';
    const x = n.inputs[0];
    const leafOrDuplicable = (i: number) => !fusible[i] || duplicable[i]!;
    duplicable[n.id] = fusible[n.id]! && (kind === 'source' || (kind === 'remap' && leafOrDuplicable(x!))
      // A scalar computed from scalars (n + 1, a ring slot) is cheaper to recompute per element than to launch.
      || (numel(n.shape) === 1 && n.inputs.every(leafOrDuplicable)));
  }

  // Fusible sources are written into the kernel; everything else a group reads is a buffer.
  const inlined = (i: number) => fusible[i]! && isSource(g.nodes[i]!);
  const leavesOf = (members: ReadonlySet<number>): Set<number> => {
    const leaves = new Set<number>();
    for (const m of members) for (const i of g.nodes[m]!.inputs) if (!members.has(i) && !inlined(i)) leaves.add(i);
    return leaves;
  };
  const grow = (root: number, budget: number): Set<number> => {
    const members = new Set<number>([root]);
    const leaves = leavesOf(members);
    // Candidates in decreasing id order: a node's users are all decided before it is.
    const candidates = new Set<number>(g.nodes[root]!.inputs);
    while (candidates.size > 0) {
      const p = Math.max(...candidates);
      candidates.delete(p);
      if (members.has(p) || !fusible[p]) continue;
      const ownedHere = !outputs.has(p) && users[p]!.every((u) => members.has(u));
      if (!duplicable[p] && !ownedHere) continue;
      const next = new Set(leaves);
      next.delete(p);
      for (const i of g.nodes[p]!.inputs) if (!members.has(i) && !inlined(i)) next.add(i);
      if (next.size > budget) continue;
      members.add(p);
      leaves.clear();
      for (const l of next) leaves.add(l);
      for (const i of g.nodes[p]!.inputs) candidates.add(i);
    }
    return members;
  };

  const groups: ElementwiseGroup[] = [];
  const groupsOf: Set<number>[] = g.nodes.map(() => new Set());

  for (let id = g.nodes.length - 1; id >= 0; id--) {
    const node = g.nodes[id]!;
    if (!fusible[id] || node.op === 'reshape' || node.op === 'constant' || node.op === 'iota' || node.op === 'literal') continue;
    // Needed on its own when an output, or when some user reads it from a buffer.
    const needed = outputs.has(id) || users[id]!.some((u) => {
      const holding = [...groupsOf[u]!];
      return holding.length === 0 || holding.some((k) => !groups[k]!.members.has(id));
    });
    if (!needed) continue;

    // Grow without a budget first; only if the group then reads too many buffers, grow again
    // counting every operand not yet absorbed as read (a cautious bound, so it always fits).
    let members = grow(id, Infinity);
    if (leavesOf(members).size > maxOperands) members = grow(id, maxOperands);
    // Sources that are not inlined (big literals) are leaves; a group must read something.
    const reads = [...members].some((m) => g.nodes[m]!.inputs.some((i) => !members.has(i)));
    if (!reads) continue;
    const index = groups.length;
    groups.push({ root: id, members });
    for (const m of members) groupsOf[m]!.add(index);
  }
  return groups;
}

function isSource(n: Node): boolean {
  return n.op === 'constant' || n.op === 'iota' || n.op === 'literal';
}

function isLayout(n: Node): boolean {
  return n.op === 'broadcastTo' || n.op === 'transpose' || n.op === 'slice' || n.op === 'reshape';
}

/** The body of a group and the nodes it reads, in order of first use. */
export function groupBody(g: Graph, group: ElementwiseGroup): { body: BodyInstruction[]; operands: number[] } {
  const order = [...group.members].sort((a, b) => a - b);
  const operands: number[] = [];
  const position = new Map<number, number>();
  const body: BodyInstruction[] = [];
  for (const id of order) {
    const node = g.nodes[id]!;
    // f32 scalar constants are written inline where they are used.
    if (node.op === 'constant' && node.dtype === 'f32' && node.shape.length === 0 && id !== group.root) continue;
    const args = node.inputs.map((i): BodyArg => {
      const src = g.nodes[i]!;
      if (group.members.has(i)) {
        if (src.op === 'constant' && src.dtype === 'f32' && src.shape.length === 0) return { scalar: attrsOf(src, 'constant').value };
        return { result: position.get(i)! };
      }
      let k = operands.indexOf(i);
      if (k < 0) k = operands.push(i) - 1;
      return { operand: k };
    });
    position.set(id, body.length);
    body.push(instructionOf(node, args));
  }
  return { body, operands };
}

export function fuseElementwise(g: Graph, options: FuseElementwiseOptions = {}): Graph {
  const groups = elementwiseGroups(g, options);
  if (groups.length === 0) return g;
  const byRoot = new Map(groups.map((gr) => [gr.root, gr]));
  const out = rebuild(g, (node, ctx) => {
    const group = byRoot.get(node.id);
    if (!group) return undefined;
    const { body, operands } = groupBody(g, group);
    return ctx.builder.node('fusedElementwise', operands.map(ctx.valueOf), { body: printBody(body) }, { span: node.span, name: node.name });
  });
  return eliminateDeadCode(out);
}
