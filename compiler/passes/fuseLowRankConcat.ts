/**
 * The LoRA form: a product plus a scaled product whose right factor is read transposed,
 *
 *   x·Wᵀ + s·(u·Bᵀ)   →   [x | s·u]·[W | B]ᵀ   = fusedMatmul(x, W, u, B) {concat, concatScale: s}
 *
 * one matmul over the concatenated inner dimension instead of two matmuls and an add (the
 * low-rank factor u = x·Aᵀ — after dropout or not — stays its own small matmul). Recognised
 * structurally on any `add` of two single-use products, whichever side it is written on; the
 * scale may sit on the product (s·(u·Bᵀ)), on u (already folded into alpha by
 * fuseMatmulOperandScale), or be absent. The bias add after it is left to fuseMatmulEpilogue.
 */
import type { Graph, Node } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { hasSingleUse, outputIds, productTerm, rebuild, scaledBy, usersOf, type ProductTerm } from './fuseHelpers.ts';

interface Match {
  main: ProductTerm;
  low: ProductTerm;
  /** s: the low-rank term's total factor relative to the main term's alpha. */
  scale: number;
}

const sameShape = (a: Node, b: Node): boolean => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

export function fuseLowRankConcat(g: Graph): Graph {
  const users = usersOf(g);
  const outputs = outputIds(g);
  const single = (id: number): boolean => hasSingleUse(g, users, outputs, id);

  /** A single-use product term, possibly under a single-use scalar multiple. */
  const term = (id: number): { t: ProductTerm; c: number } | undefined => {
    if (!single(id)) return undefined;
    const node = g.nodes[id]!;
    const direct = productTerm(node);
    if (direct) return { t: direct, c: 1 };
    const s = scaledBy(g, node);
    if (!s || !single(s.x)) return undefined;
    const inner = productTerm(g.nodes[s.x]!);
    return inner ? { t: inner, c: s.c } : undefined;
  };

  const match = (node: Node): Match | undefined => {
    if (node.op !== 'add') return undefined;
    const [p, q] = node.inputs as [number, number];
    if (p === q || !sameShape(g.nodes[p]!, node) || !sameShape(g.nodes[q]!, node)) return undefined;
    const tp = term(p);
    const tq = term(q);
    if (!tp || !tq) return undefined;
    const options: Match[] = [];
    for (const [main, low] of [[tp, tq], [tq, tp]] as const) {
      // The concatenated pair is read as A2 [M, K2] and B2 [N, K2]; the main term has no scale of its own.
      if (low.t.transA || !low.t.transB || main.c !== 1 || main.t.alpha === 0) continue;
      options.push({ main: main.t, low: low.t, scale: (low.c * low.t.alpha) / main.t.alpha });
    }
    // The shorter inner dimension goes in the concatenated part (it is the low-rank one).
    const k = (t: ProductTerm) => g.nodes[t.a]!.shape[g.nodes[t.a]!.shape.length - (t.transA ? 2 : 1)]!;
    options.sort((x, y) => k(x.low) - k(y.low));
    return options[0];
  };

  let changed = false;
  const out = rebuild(g, (node, ctx) => {
    const m = match(node);
    if (!m) return undefined;
    changed = true;
    return ctx.builder.node(
      'fusedMatmul',
      [m.main.a, m.main.b, m.low.a, m.low.b].map(ctx.valueOf),
      { transA: m.main.transA, transB: m.main.transB, concat: true, concatScale: m.scale, alpha: m.main.alpha },
      { span: node.span, name: node.name },
    );
  });
  return changed ? eliminateDeadCode(out) : g;
}
