/**
 * softmax / logSoftmax take the elementwise kernels on either side into their row kernel:
 *
 *   softmax(x + mask)                     prologue: the input is computed as the row is read
 *   (softmax(z) − onehot(labels))·g/n     epilogue: each result is transformed as it is written
 *   dropout(softmax(scores))              (the cross-entropy gradient; attention dropout)
 *
 * → one `fusedSoftmax` node, one kernel, no intermediate tensors. Runs after fuseElementwise: a
 * prologue is a single-use fusedElementwise operand; an epilogue is the single user of the softmax,
 * a fusedElementwise of the same shape that reads the softmax value only element for element
 * (through same-shape elementwise ops, no remaps).
 */
import { OPS, attrsOf, inferBody, numel, parseBody, printBody, type BodyArg, type FusedBody, type Graph, type Node } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { hasSingleUse, outputIds, rebuild, usersOf } from './fuseHelpers.ts';

export interface FuseSoftmaxOptions {
  /** Most buffers the kernel may read. Default 7. */
  readonly maxOperands?: number;
}

interface Plan {
  softmax: Node;
  operands: number[];
  prologue: string;
  epilogue: string;
  /** The node the fused op replaces (the epilogue's root, or the softmax itself). */
  replaces: number;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** True when every instruction that depends on operand `k` is a same-shape elementwise op. */
function readsElementwise(body: FusedBody, k: number, shapes: readonly (readonly number[])[]): boolean {
  const dependent = new Array<boolean>(body.length).fill(false);
  const root = shapes[shapes.length - 1]!;
  for (let i = 0; i < body.length; i++) {
    const ins = body[i]!;
    dependent[i] = ins.args.some((a) => ('operand' in a && a.operand === k) || ('result' in a && dependent[a.result]));
    if (dependent[i] && (OPS[ins.op].kind !== 'elementwise' || !sameShape(shapes[i]!, root))) return false;
  }
  return true;
}

/** The body with its operands renumbered. */
function renumber(body: FusedBody, map: (k: number) => number): string {
  return printBody(body.map((ins) => ({ ...ins, args: ins.args.map((a): BodyArg => ('operand' in a ? { operand: map(a.operand) } : a)) })));
}

export function fuseSoftmax(g: Graph, options: FuseSoftmaxOptions = {}): Graph {
  const maxOperands = options.maxOperands ?? 7;
  const users = usersOf(g);
  const outputs = outputIds(g);
  const plans = new Map<number, Plan>();

  for (const s of g.nodes) {
    if (s.op !== 'softmax' && s.op !== 'logSoftmax') continue;
    const input = g.nodes[s.inputs[0]!]!;
    let operands = [input.id];
    let prologue = '';
    if (input.op === 'fusedElementwise' && hasSingleUse(g, users, outputs, input.id) && input.inputs.length <= maxOperands) {
      operands = [...input.inputs];
      prologue = attrsOf(input, 'fusedElementwise').body;
    }
    let epilogue = '';
    let replaces = s.id;
    const u = hasSingleUse(g, users, outputs, s.id) ? g.nodes[users[s.id]![0]!]! : undefined;
    if (u?.op === 'fusedElementwise' && sameShape(u.shape, s.shape) && numel(u.shape) === numel(s.shape)) {
      const body = parseBody(attrsOf(u, 'fusedElementwise').body);
      const k = u.inputs.indexOf(s.id);
      const shapes = inferBody(body, u.inputs.map((id) => g.nodes[id]!)).map((t) => t.shape);
      const extra = u.inputs.filter((id) => id !== s.id && !operands.includes(id));
      if (readsElementwise(body, k, shapes) && operands.length + extra.length <= maxOperands) {
        const all = [...operands, ...extra];
        epilogue = renumber(body, (j) => (j === k ? 0 : 1 + all.indexOf(u.inputs[j]!)));
        operands = all;
        replaces = u.id;
      }
    }
    if (prologue === '' && epilogue === '') continue;
    plans.set(replaces, { softmax: s, operands, prologue, epilogue, replaces });
  }
  if (plans.size === 0) return g;

  const out = rebuild(g, (node, ctx) => {
    const plan = plans.get(node.id);
    if (!plan) return undefined;
    return ctx.builder.node('fusedSoftmax', plan.operands.map(ctx.valueOf), {
      axis: attrsOf(plan.softmax, 'softmax', 'logSoftmax').axis,
      log: plan.softmax.op === 'logSoftmax',
      prologue: plan.prologue,
      epilogue: plan.epilogue,
    }, { span: node.span ?? plan.softmax.span, name: node.name });
  });
  return eliminateDeadCode(out);
}
