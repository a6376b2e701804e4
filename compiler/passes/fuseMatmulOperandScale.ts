/**
 * A scalar multiple of a matmul operand becomes the matmul's alpha: (c·X)·Y = c·(X·Y), so the
 * elementwise kernel that scaled X (often as big as the matmul's input) disappears. Backward
 * passes are full of these (the LoRA scale s times the upstream gradient).
 *
 *   matmul(mul(x, c), y) → fusedMatmul(x, y) {alpha: c}     (mul used only here)
 */
import type { Graph } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';
import { hasSingleUse, outputIds, rebuild, scaledBy, usersOf } from './fuseHelpers.ts';

export function fuseMatmulOperandScale(g: Graph): Graph {
  const users = usersOf(g);
  const outputs = outputIds(g);
  let changed = false;
  const out = rebuild(g, (node, ctx) => {
    if (node.op !== 'matmul') return undefined;
    let alpha = 1;
    const operands = (node.inputs as number[]).map((id) => {
      const s = hasSingleUse(g, users, outputs, id) ? scaledBy(g, g.nodes[id]!) : undefined;
      if (!s) return id;
      alpha *= s.c;
      return s.x;
    });
    if (operands.every((id, i) => id === node.inputs[i])) return undefined;
    changed = true;
    return ctx.builder.node('fusedMatmul', operands.map(ctx.valueOf), { transA: node.attrs.transA, transB: node.attrs.transB, alpha }, { span: node.span, name: node.name });
  });
  return changed ? eliminateDeadCode(out) : g;
}
