/**
 * A transpose of the last two axes feeding a matmul becomes the matmul's transA/transB flag: the
 * matmul kernels read either layout at the same speed, so the copy kernel disappears. The
 * transpose itself stays only if something else still uses it (dead-code elimination runs last).
 *
 *   matmul(transpose(x, [..., r, r-1... swap]), y) → matmul(x, y) {transA: !transA}
 */
import { attrsOf, type Graph, type Node } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { rebuild } from './fuseHelpers.ts';

/** True for a perm that swaps the last two axes and keeps the others in place. */
export function swapsLastTwo(perm: readonly number[]): boolean {
  const r = perm.length;
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, -2).every((p, i) => p === i);
}

function swapped(g: Graph, id: number): number | undefined {
  const n: Node = g.nodes[id]!;
  return n.op === 'transpose' && swapsLastTwo(attrsOf(n, 'transpose').perm) ? n.inputs[0] : undefined;
}

export function fuseMatmulTranspose(g: Graph): Graph {
  let changed = false;
  const out = rebuild(g, (node, ctx) => {
    if (node.op !== 'matmul') return undefined;
    const [a, b] = node.inputs as [number, number];
    const sa = swapped(g, a);
    const sb = swapped(g, b);
    if (sa === undefined && sb === undefined) return undefined;
    changed = true;
    const transA = attrsOf(node, 'matmul').transA !== (sa !== undefined);
    const transB = attrsOf(node, 'matmul').transB !== (sb !== undefined);
    return ctx.builder.node('matmul', [ctx.valueOf(sa ?? a), ctx.valueOf(sb ?? b)], { transA, transB }, { span: node.span, name: node.name });
  });
  return changed ? eliminateDeadCode(out) : g;
}
