/**
 * Initializer expressions (`param m: [out] = row_norm(W)`) as small graphs: inputs are the tensors
 * the expression names, by full path (`fc1.weight` for an adapter's `W` on fc1), output `value`
 * with the declared shape (broadcast when the expression's shape only broadcasts to it). The CPU
 * initializers run them with the IR interpreter (`initializers.ts`); a GPU runtime may run them as
 * any other graph.
 */
import { GraphBuilder, type Graph, type Value } from '../ir/index.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';
import { LowerError } from './errors.ts';
import { Frame, type NetworkContext } from './lowerFn.ts';
import { lowerExpr } from './lowerExpr.ts';
import type { NetworkPlan, TensorPlan } from './plan.ts';
import { irSpan } from './spans.ts';

export interface InitGraph {
  graph: Graph;
  /** The tensors it reads (graph inputs, by full path), in first-use order. */
  inputs: string[];
}

export function lowerInitExpr(plan: NetworkPlan, t: TensorPlan): InitGraph {
  if (t.init.kind !== 'expr') throw new LowerError('internal', `${t.path} has no initializer expression`, t.span);
  const b = new GraphBuilder();
  const byPath = new Map(plan.tensors.map((x) => [x.path, x]));
  const made = new Map<string, Value>();
  const ctx: NetworkContext = {
    b,
    linears: plan.linears,
    attachments: plan.attachments,
    instances: plan.instances,
    depth: 0,
    tensor(path: string, at: SourceSpan): Value {
      let v = made.get(path);
      if (v) return v;
      const x = byPath.get(path);
      if (!x) throw new LowerError('internal', `the initializer of ${t.path} reads ${path}, which the plan does not have`, at);
      if (x === t) throw new LowerError('bad-request', `the initializer of ${t.path} reads ${t.path} itself`, at);
      v = b.input(path, x.shape, { role: x.role, dtype: x.dtype, span: irSpan(x.span) });
      made.set(path, v);
      return v;
    },
    dropout: (x) => x,
    noise: (_shape, at) => {
      throw new LowerError('internal', `noise in the initializer of ${t.path}`, at);
    },
  };
  const frame = new Frame(ctx, t.owner, t.owner.env, new Map());
  let v = lowerExpr(t.init.expr, frame);
  b.span = irSpan(t.span);
  if (v.dtype !== t.dtype) throw new LowerError('internal', `the initializer of ${t.path} is ${v.dtype}, the tensor ${t.dtype}`, t.span);
  if (v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i])) v = b.broadcastTo(v, t.shape);
  b.output('value', v);
  return { graph: b.build(), inputs: [...made.keys()] };
}
