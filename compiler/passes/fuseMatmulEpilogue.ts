/**
 * The elementwise work right after a matmul goes into the matmul's epilogue (its write loop):
 * a bias along N (`+ b[n]`), a bias along M (`+ r[m, 1]`), scalar multiples, and one activation
 * (relu, gelu, tanh, sigmoid) last — the forms the matmul kernels support:
 *
 *   act(scale·(alpha·(op(A)·op(B) [+ s·A2·B2ᵀ]) + bias + rowBias))
 *
 * It follows the chain of single-use consumers from a matmul (or a concatenated fusedMatmul)
 * while each step fits that form, and replaces the chain's last node by one fusedMatmul.
 */
import { MATMUL_ACTIVATIONS, attrsOf, type Graph, type Node } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { hasSingleUse, outputIds, rebuild, scaledBy, usersOf } from './fuseHelpers.ts';

const ACTIVATION_OPS: ReadonlySet<string> = new Set(MATMUL_ACTIVATIONS.filter((a) => a !== ''));

interface Epilogue {
  /** The matmul the chain starts at. */
  start: number;
  alpha: number;
  scale: number;
  bias?: number;
  rowBias?: number;
  activation: string;
}

/** `shape` is [..., last] with every other extent 1 (as long as the output's rank at most). */
function isVector(shape: readonly number[], last: readonly number[], rank: number): boolean {
  if (shape.length < last.length || shape.length > rank) return false;
  const lead = shape.length - last.length;
  return shape.slice(lead).every((d, i) => d === last[i]) && shape.slice(0, lead).every((d) => d === 1);
}

/** A matmul with nothing in its epilogue yet. */
function isBareMatmul(n: Node): boolean {
  if (n.op === 'matmul') return true;
  const a = n.attrs;
  return n.op === 'fusedMatmul' && !a.bias && !a.rowBias && a.activation === '' && a.scale === 1;
}

export function fuseMatmulEpilogue(g: Graph): Graph {
  const users = usersOf(g);
  const outputs = outputIds(g);
  const ends = new Map<number, Epilogue>();

  for (const node of g.nodes) {
    if (!isBareMatmul(node)) continue;
    const rank = node.shape.length;
    const [m, n] = [node.shape[rank - 2]!, node.shape[rank - 1]!];
    const e: Epilogue = { start: node.id, alpha: node.op === 'fusedMatmul' ? attrsOf(node, 'fusedMatmul').alpha : 1, scale: 1, activation: '' };
    let cur = node.id;
    while (hasSingleUse(g, users, outputs, cur) && e.activation === '') {
      const u = g.nodes[users[cur]![0]!]!;
      const s = scaledBy(g, u);
      if (s && s.x === cur) {
        if (e.bias !== undefined || e.rowBias !== undefined) e.scale *= s.c;
        else e.alpha *= s.c;
      } else if (u.op === 'add' && u.inputs[0] !== u.inputs[1] && u.shape.length === rank && u.shape.every((d, i) => d === node.shape[i])) {
        const other = g.nodes[u.inputs[0] === cur ? u.inputs[1]! : u.inputs[0]!]!;
        if (e.scale !== 1 || other.dtype !== 'f32') break;
        if (e.bias === undefined && isVector(other.shape, [n], rank)) e.bias = other.id;
        else if (e.rowBias === undefined && isVector(other.shape, [m, 1], rank)) e.rowBias = other.id;
        else break;
      } else if (ACTIVATION_OPS.has(u.op)) {
        e.activation = u.op;
      } else {
        break;
      }
      cur = u.id;
    }
    if (cur !== node.id) ends.set(cur, e);
  }
  if (ends.size === 0) return g;

  const out = rebuild(g, (node, ctx) => {
    const e = ends.get(node.id);
    if (!e) return undefined;
    const start = g.nodes[e.start]!;
    const operands = [...start.inputs];
    if (e.bias !== undefined) operands.push(e.bias);
    if (e.rowBias !== undefined) operands.push(e.rowBias);
    const concat = start.op === 'fusedMatmul' && attrsOf(start, 'fusedMatmul').concat;
    return ctx.builder.node('fusedMatmul', operands.map(ctx.valueOf), {
      transA: start.attrs.transA,
      transB: start.attrs.transB,
      concat,
      concatScale: concat ? start.attrs.concatScale : 1,
      bias: e.bias !== undefined,
      rowBias: e.rowBias !== undefined,
      alpha: e.alpha,
      scale: e.scale,
      activation: e.activation,
    }, { span: node.span, name: node.name });
  });
  return eliminateDeadCode(out);
}
