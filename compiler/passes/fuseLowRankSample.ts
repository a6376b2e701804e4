/**
 * A low-rank term and its elementwise consumer → one kernel: `tail(..., c·B, ...)` with c a row
 * [1, K] computed elementwise (SWAG's z₂ = randomNormal(seed), reshaped) and B [K, N] becomes
 * `fusedLowRank(B, reads...) {coef, epilogue}`, which draws c once per workgroup and gives each
 * output element its own K-term dot product (codegen/wgsl/lowRank.ts). SWAG's sampler
 * `mean + √s·σ⊙z₁ + √(s/(K−1))·(z₂ @ D)` was three launches (z₂, the matmul, the tail) and is one.
 *
 * Matched after fuseElementwise: a fusedElementwise `tail` reading (once, itself or through a
 * reshape) a plain product c·B — matmul or fusedMatmul with only alpha, no transposes, 2-D —
 * that nothing else reads, where c is [1, K] (or a reshape of [K]) and K ≤ MAX_LOW_RANK. When c is
 * a fusedElementwise only this product reads, its body becomes the coefficient body; otherwise c
 * is read from its buffer.
 */
import { MAX_LOW_RANK, attrsOf, parseBody, printBody, shapesEqual, type BodyArg, type BodyInstruction, type Graph, type Node } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { hasSingleUse, outputIds, productTerm, rebuild, usersOf } from './fuseHelpers.ts';

export interface FuseLowRankSampleOptions {
  /** Most buffers the kernel may read besides the factor B (default 7, less one for B). */
  readonly maxOperands?: number;
}

interface Plan {
  /** The operand position of the product in the tail. */
  operand: number;
  factor: number;
  coef: BodyInstruction[];
  epilogue: BodyInstruction[];
  reads: number[];
}

export function fuseLowRankSample(g: Graph, options: FuseLowRankSampleOptions = {}): Graph {
  const maxOperands = (options.maxOperands ?? 7) - 1;
  const users = usersOf(g);
  const outputs = outputIds(g);
  const single = (id: number) => hasSingleUse(g, users, outputs, id);

  const plan = (tail: Node): Plan | undefined => {
    for (let operand = 0; operand < tail.inputs.length; operand++) {
      let id = tail.inputs[operand]!;
      if (tail.inputs.indexOf(id) !== operand || !single(id)) continue;
      if (g.nodes[id]!.op === 'reshape') id = g.nodes[id]!.inputs[0]!;
      const product = g.nodes[id]!;
      const term = productTerm(product);
      if (!term || term.transA || term.transB || !single(id)) continue;
      const [a, b] = [g.nodes[term.a]!, g.nodes[term.b]!];
      if (b.shape.length !== 2 || b.dtype !== 'f32' || !shapesEqual(product.shape, [1, b.shape[1]!])) continue;
      const K = b.shape[0]!;
      if (K > MAX_LOW_RANK || !shapesEqual(a.shape, [1, K])) continue;
      // The coefficients: the producer's body when only this product reads it, else c's buffer.
      let c = a;
      if (c.op === 'reshape' && single(c.id) && shapesEqual(g.nodes[c.inputs[0]!]!.shape, [K])) c = g.nodes[c.inputs[0]!]!;
      const reads: number[] = [];
      const readOf = (x: number) => {
        let k = reads.indexOf(x);
        if (k < 0) k = reads.push(x) - 1;
        return k;
      };
      const remap = (body: readonly BodyInstruction[], operandOf: (k: number) => BodyArg): BodyInstruction[] =>
        body.map((ins) => ({ ...ins, args: ins.args.map((x) => ('operand' in x ? operandOf(x.operand) : x)) }));
      const coef: BodyInstruction[] = c.op === 'fusedElementwise' && single(c.id)
        ? remap(parseBody(attrsOf(c, 'fusedElementwise').body), (k) => ({ operand: readOf(c.inputs[k]!) }))
        : [{ op: 'reshape', args: [{ operand: readOf(c.id) }], attrs: { shape: [...c.shape] } }];
      if (term.alpha !== 1) coef.push({ op: 'mul', args: [{ result: coef.length - 1 }, { scalar: term.alpha }], attrs: {} });
      // The epilogue reads the product as $0 [1, N]; a reshape between is redone in the body.
      const viaReshape = tail.inputs[operand] !== id;
      const epilogue: BodyInstruction[] = [];
      if (viaReshape) epilogue.push({ op: 'reshape', args: [{ operand: 0 }], attrs: { shape: [...g.nodes[tail.inputs[operand]!]!.shape] } });
      const shift = epilogue.length;
      const body = parseBody(attrsOf(tail, 'fusedElementwise').body).map((ins) => ({
        ...ins,
        args: ins.args.map((x): BodyArg => {
          if ('result' in x) return { result: x.result + shift };
          if (!('operand' in x)) return x;
          if (x.operand === operand) return viaReshape ? { result: 0 } : { operand: 0 };
          return { operand: 1 + readOf(tail.inputs[x.operand]!) };
        }),
      }));
      epilogue.push(...body);
      if (reads.length > maxOperands || reads.includes(term.b)) continue;
      return { operand, factor: term.b, coef, epilogue, reads };
    }
    return undefined;
  };

  let changed = false;
  const out = rebuild(g, (node, ctx) => {
    if (node.op !== 'fusedElementwise') return undefined;
    const p = plan(node);
    if (!p) return undefined;
    changed = true;
    return ctx.builder.node('fusedLowRank', [ctx.valueOf(p.factor), ...p.reads.map(ctx.valueOf)], { coef: printBody(p.coef), epilogue: printBody(p.epilogue) }, { span: node.span, name: node.name });
  });
  return changed ? eliminateDeadCode(out) : g;
}
