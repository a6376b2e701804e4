/**
 * Penalties: every `penalty name = expr` of every adapter in the network, lowered once per layer
 * the adapter is on (its tensors by that layer's paths) and summed into one f32 scalar. The
 * training graph adds it to the data loss divided by the training set size (`train_size`, an f32
 * scalar input the trainer feeds), so the loss is an ELBO per example: NLL + KL / N.
 */
import type { Value } from '../ir/index.ts';
import { LowerError } from './errors.ts';
import { Frame, type NetworkContext } from './lowerFn.ts';
import { lowerExpr } from './lowerExpr.ts';
import type { NetworkPlan, OwnerScope } from './plan.ts';
import { irSpan } from './spans.ts';

/** The adapter scopes of a plan: the root of a lone adapter, then each attachment in order. */
function adapterScopes(plan: NetworkPlan): OwnerScope[] {
  const scopes: OwnerScope[] = plan.root.decl.kind === 'adapter' ? [plan.root] : [];
  return [...scopes, ...plan.attachments.values()];
}

/** True when some adapter of the plan declares a penalty. */
export function hasPenalties(plan: NetworkPlan): boolean {
  return adapterScopes(plan).some((s) => s.decl.kind === 'adapter' && s.decl.penalties.length > 0);
}

/** The sum of every penalty of every adapter in place, or undefined when there are none. */
export function lowerPenalties(ctx: NetworkContext, plan: NetworkPlan): Value | undefined {
  let total: Value | undefined;
  for (const scope of adapterScopes(plan)) {
    if (scope.decl.kind !== 'adapter') continue;
    for (const p of scope.decl.penalties) {
      const frame = new Frame(ctx, scope, scope.env, new Map());
      const v = lowerExpr(p.value, frame);
      if (v.shape.length !== 0 || v.dtype !== 'f32') throw new LowerError('internal', `penalty ${p.name} of ${scope.what} lowered to ${v.dtype}[${v.shape.join(', ')}]`, p.span);
      ctx.b.span = irSpan(p.span);
      total = total ? ctx.b.add(total, v) : v;
    }
  }
  return total;
}
