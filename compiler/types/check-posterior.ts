import type * as A from '../syntax/ast.ts';
import { didYouMean } from '../syntax/did-you-mean.ts';
import type { Span } from '../syntax/span.ts';
import { BUILTINS } from './builtins.ts';
import { declParams } from './check-body.ts';
import { ExprChecker, type ExprScope, type ValueBinding } from './check-expr.ts';
import type { CheckContext } from './context.ts';
import { type Dim, dimSym } from './dim.ts';
import { type TensorType, sameShape, showType, tensor } from './tensor-type.ts';
import { mapScope, toDim } from './to-dim.ts';
import type { TypedPosterior, TypedStat } from './typed-program.ts';

/** Names every posterior has: the flattened trainable parameters and their size. */
const THETA = 'theta';
const P = 'p';
/** The per-example gradient of the loss by theta, in the statistics of a post-hoc posterior. */
const GRAD = 'grad';

/**
 * Checks a posterior: statistics over `theta: [p]` (each `average(e)` or `last(K, e)`, seeing
 * theta and the statistics before it) and one sampling rule over the statistics and standard
 * normal draws, which must produce a parameter vector `[p]`.
 */
export function checkPosterior(ctx: CheckContext, decl: A.PosteriorDecl): TypedPosterior {
  const seen = new Map<string, Span>();
  const claim = (name: string, span: Span) => {
    if (!name) return false;
    if (name === THETA || name === P || name === GRAD) {
      ctx.error(`${name} is built in: theta is the vector of trainable parameters, p its size and grad (post-hoc posteriors) a training example's gradient by theta`, span);
      return false;
    }
    const first = seen.get(name);
    if (first) {
      ctx.error(`duplicate name ${name}`, span, [{ message: `${name} is first declared here`, span: first }]);
      return false;
    }
    seen.set(name, span);
    return true;
  };
  const dims = new Map<string, Dim>([[P, dimSym(P)]]);
  const params = declParams(decl.params, dims, ctx, claim);
  if (decl.over.name !== 'params') {
    ctx.error(`a posterior is over the trainable parameters: write 'over params'${decl.over.name ? ` instead of 'over ${decl.over.name}'` : ''}`, decl.over.span);
  }
  const posthoc = decl.mode?.name === 'posthoc';
  if (decl.mode && !posthoc) {
    const guess = didYouMean(decl.mode.name, ['posthoc']);
    ctx.error(`unknown posterior mode ${decl.mode.name}${guess ? `; did you mean ${guess}?` : ''}: write 'over params' (statistics collected during training) or 'over params posthoc' (collected after training, one pass over the training data)`, decl.mode.span);
  }
  const theta = tensor('f32', [dims.get(P)!]);
  const stats: TypedStat[] = [];
  const statValues = new Map<string, ValueBinding>();
  const dimScope = mapScope(dims, (n) => (params.scalars.has(n) ? `the ${params.scalars.get(n)!.elem} parameter ${n}` : undefined));
  const poisoned = new Set<string>();

  for (const m of decl.members) {
    if (m.kind !== 'stat') continue;
    if (!claim(m.name.name, m.name.span)) continue;
    const values = new Map<string, ValueBinding>([[THETA, { type: theta, ref: { kind: 'theta' } }], ...statValues]);
    // An unknown mode is reported above; its statistics are checked as if post-hoc.
    if (decl.mode) values.set(GRAD, { type: theta, ref: { kind: 'grad' } });
    const forbidden = decl.mode
      ? undefined
      : new Map([[GRAD, `grad (a training example's gradient of the loss by theta) is read only by the statistics of a post-hoc posterior, written 'posterior ${decl.name.name} over params posthoc': this posterior is collected during training, where its statistics see theta`]]);
    const scope: ExprScope = { ctx, values, dims: dimScope, scalars: params.scalars, poisoned, noise: `stat ${m.name.name} of posterior ${decl.name.name}`, ...(forbidden ? { forbidden } : {}) };
    const checker = new ExprChecker(scope);
    const stat = checkStat(ctx, checker, m, dimScope);
    if (!stat) {
      poisoned.add(m.name.name);
      continue;
    }
    stats.push(stat);
    statValues.set(m.name.name, { type: stat.type, ref: { kind: 'stat', name: m.name.name } });
  }

  const samples = decl.members.filter((m): m is A.SampleMember => m.kind === 'sample');
  for (const extra of samples.slice(1)) ctx.error('a posterior has one sample rule', extra.span, [{ message: 'the first one is here', span: samples[0]!.span }]);
  if (samples.length === 0) ctx.error(`posterior ${decl.name.name} needs a sample rule, such as sample(z: normal) = mean + ...`, decl.name.span);
  const noise: { name: string; type: TensorType }[] = [];
  let sample: TypedPosterior['sample'];
  const rule = samples[0];
  if (rule) {
    const values = new Map(statValues);
    let ok = true;
    for (const z of rule.params) {
      if (!claim(z.name.name, z.name.span)) continue;
      if (z.dist.name !== 'normal') {
        const guess = didYouMean(z.dist.name, ['normal']);
        ctx.error(`unknown distribution ${z.dist.name}${guess ? `; did you mean ${guess}?` : ''}: draws are standard normal, written z: normal or z: normal[K]`, z.dist.span);
        ok = false;
        continue;
      }
      const shape: Dim[] = [];
      for (const item of z.shape ?? []) {
        const d = toDim(item, dimScope, (msg, s) => ctx.error(msg, s));
        if (d) shape.push(d);
        else ok = false;
      }
      const type = tensor('f32', z.shape ? shape : [dims.get(P)!]);
      noise.push({ name: z.name.name, type });
      values.set(z.name.name, { type, ref: { kind: 'noise', name: z.name.name } });
    }
    const forbidden = new Map([
      [THETA, 'theta is not available in sample: a sample is drawn from the statistics (such as mean), not from the current parameters'],
      [GRAD, `grad is not available in sample: ${posthoc ? 'it is read by the statistics (stat fisher = total(grad * grad)), and a sample is drawn from them' : `it is read only by the statistics of a post-hoc posterior ('over params posthoc')`}`],
    ]);
    const scope: ExprScope = { ctx, values, dims: dimScope, scalars: params.scalars, forbidden, poisoned, noise: `the sample rule of posterior ${decl.name.name} (name its draws: sample(z: normal[K]))` };
    const typed = ok ? new ExprChecker(scope).check(rule.value) : undefined;
    if (typed) {
      if (typed.type.elem !== 'f32' || !sameShape(typed.type.shape, theta.shape)) {
        ctx.error(`a sample must be a parameter vector [p], but this is ${showType(typed.type)}`, rule.value.span);
      } else sample = typed;
    }
  }
  return { kind: 'posterior', name: decl.name.name, params: params.typed, stats, posthoc, noise, sample, span: decl.span };
}

function checkStat(ctx: CheckContext, checker: ExprChecker, m: A.StatMember, dims: ReturnType<typeof mapScope>): TypedStat | undefined {
  const e = m.value;
  const reduce = e.kind === 'call' && (e.callee.text === 'average' || e.callee.text === 'last' || e.callee.text === 'total') ? e.callee.text : undefined;
  if (!reduce || e.kind !== 'call') {
    ctx.error(`a stat is average(e) (a running mean), total(e) (a running sum) or last(K, e) (the last K values); ${m.name.name} is none of them`, e.span);
    return undefined;
  }
  const bound = checker.bindBuiltin(BUILTINS.get(reduce)!, e);
  if (!bound) return undefined;
  const inner = bound.bound.get('x') as A.Expr;
  const value = checker.check(inner);
  if (!value) return undefined;
  if (value.type.elem !== 'f32' && !value.type.weak) {
    ctx.error(`a statistic must be f32, but ${m.name.name} is ${showType(value.type)}`, inner.span);
    return undefined;
  }
  ctx.useOp(reduce);
  if (reduce === 'average' || reduce === 'total') return { name: m.name.name, reduce, value, type: tensor('f32', value.type.shape), span: m.span };
  const k = toDim(bound.bound.get('k') as A.Expr, dims, (msg, s) => ctx.error(msg, s));
  if (!k) return undefined;
  return { name: m.name.name, reduce, capacity: k, value, type: tensor('f32', [k, ...value.type.shape]), span: m.span };
}
