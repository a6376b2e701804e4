/**
 * A sum over the batch of per-batch products Aᵦᵀ·Bᵦ — what autodiff makes of a weight's gradient
 * when the activations have leading batch axes (x [b, n, d] · Wᵀ gives dW = Σᵦ gᵦᵀ·xᵦ) — is one
 * product over the batch folded into K:
 *
 *   sum(matmul(g, x) {transA}, batch axes) → matmul(reshape(g, [b·n, e]), reshape(x, [b·n, d])) {transA}
 *
 * No [b, e, d] intermediate, no reduction kernel; the reshapes are free (contiguous buffers).
 */
import { attrsOf, numel, shapesEqual, type Graph } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { hasSingleUse, outputIds, productTerm, rebuild, usersOf } from './fuseHelpers.ts';

export function fuseBatchedWeightGradient(g: Graph): Graph {
  const users = usersOf(g);
  const outputs = outputIds(g);
  let changed = false;
  const out = rebuild(g, (node, ctx) => {
    if (node.op !== 'sum') return undefined;
    const x = g.nodes[node.inputs[0]!]!;
    const t = productTerm(x);
    if (!t || !t.transA || t.transB || !hasSingleUse(g, users, outputs, x.id)) return undefined;
    const nb = x.shape.length - 2;
    const axes = attrsOf(node, 'sum').axes;
    if (nb < 1 || axes.length !== nb || !axes.every((a, i) => a === i)) return undefined;
    const a = g.nodes[t.a]!;
    const b = g.nodes[t.b]!;
    const batch = x.shape.slice(0, nb);
    if (!shapesEqual(a.shape.slice(0, -2), batch) || !shapesEqual(b.shape.slice(0, -2), batch)) return undefined;
    changed = true;
    const B = ctx.builder;
    const rows = numel(batch) * a.shape[a.shape.length - 2]!;
    const ra = B.reshape(ctx.valueOf(a.id), [rows, a.shape[a.shape.length - 1]!]);
    const rb = B.reshape(ctx.valueOf(b.id), [rows, b.shape[b.shape.length - 1]!]);
    const meta = { span: node.span, name: node.name };
    let v = t.alpha === 1 ? B.node('matmul', [ra, rb], { transA: true }, meta) : B.node('fusedMatmul', [ra, rb], { transA: true, alpha: t.alpha }, meta);
    if (!shapesEqual(v.shape, node.shape)) v = B.reshape(v, node.shape);
    return v;
  });
  return changed ? eliminateDeadCode(out) : g;
}
