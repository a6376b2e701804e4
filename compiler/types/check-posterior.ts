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

/** Names every posterior over params has: the flattened trainable parameters and their size. */
const THETA = 'theta';
const P = 'p';
/** The per-example gradient of the loss by theta, in the statistics of a post-hoc posterior. */
const GRAD = 'grad';
/**
 * Names every posterior over linears has, per linear map y = a Pᵀ with P trainable: the rows it
 * reads (`input: [rows, in]`, one example's) and the loss's gradient at its output rows
 * (`output_grad: [rows, out]`), and those sizes.
 */
const INPUT = 'input';
const OUTPUT_GRAD = 'output_grad';
const ROWS = 'rows';
const IN = 'in';
const OUT = 'out';

const BUILT_IN = {
  params: { names: [THETA, P, GRAD], say: 'theta is the vector of trainable parameters, p its size and grad (post-hoc posteriors) a training example\'s gradient by theta' },
  linears: { names: [INPUT, OUTPUT_GRAD, ROWS, IN, OUT], say: 'in a posterior over linears, input: [rows, in] is the rows a linear map reads and output_grad: [rows, out] the gradient at its output' },
} as const;

/**
 * Checks a posterior. Over params: statistics over `theta: [p]` (each `average(e)`, `total(e)` or
 * `last(K, e)`, seeing theta, post-hoc `grad`, and the statistics before it) and one sampling rule
 * over the statistics and standard normal draws, which must produce a parameter vector `[p]`.
 * Over linears (always post-hoc): the same statistics, kept once per trainable linear map over
 * its `input` and `output_grad`, and no sampling rule.
 */
export function checkPosterior(ctx: CheckContext, decl: A.PosteriorDecl): TypedPosterior {
  const over = decl.over.name === 'linears' ? 'linears' : 'params';
  const builtIn = BUILT_IN[over];
  const seen = new Map<string, Span>();
  const claim = (name: string, span: Span) => {
    if (!name) return false;
    if ((builtIn.names as readonly string[]).includes(name)) {
      ctx.error(`${name} is built in: ${builtIn.say}`, span);
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
  const dims = new Map<string, Dim>(over === 'params' ? [[P, dimSym(P)]] : [ROWS, IN, OUT].map((n) => [n, dimSym(n)]));
  const params = declParams(decl.params, dims, ctx, claim);
  if (decl.over.name !== 'params' && decl.over.name !== 'linears') {
    const guess = decl.over.name ? didYouMean(decl.over.name, ['params', 'linears']) : undefined;
    ctx.error(
      `a posterior is over the trainable parameters ('over params') or over each trainable linear map ('over linears posthoc')${decl.over.name ? `, not 'over ${decl.over.name}'${guess ? `; did you mean ${guess}?` : ''}` : ''}`,
      decl.over.span,
    );
  }
  const posthoc = decl.mode?.name === 'posthoc';
  if (decl.mode && !posthoc) {
    const guess = didYouMean(decl.mode.name, ['posthoc']);
    const choices = over === 'params' ? `'over params' (statistics collected during training) or 'over params posthoc' (collected after training, one pass over the training data)` : `'over linears posthoc' (collected after training, one pass over the training data)`;
    ctx.error(`unknown posterior mode ${decl.mode.name}${guess ? `; did you mean ${guess}?` : ''}: write ${choices}`, decl.mode.span);
  }
  if (over === 'linears' && !decl.mode) {
    ctx.error(`a posterior over linears reads each training example's input and output gradient of every linear map, in a pass over the training data after training: write 'over linears posthoc'`, decl.over.span);
  }
  const dimScope = mapScope(dims, (n) => (params.scalars.has(n) ? `the ${params.scalars.get(n)!.elem} parameter ${n}` : undefined));
  const poisoned = new Set<string>();
  const stats = checkStats(ctx, decl, over === 'params' ? paramsNames(decl, dims) : linearsNames(decl, dims), { scalars: params.scalars, dims: dimScope, claim, poisoned });
  const statValues = new Map<string, ValueBinding>(stats.map((s) => [s.name, { type: s.type, ref: { kind: 'stat', name: s.name } }]));
  const samples = decl.members.filter((m): m is A.SampleMember => m.kind === 'sample');
  if (over === 'linears') {
    for (const rule of samples) {
      ctx.error(
        `a posterior over linears keeps statistics only: it has no sample rule (drawing from Kronecker factors needs their eigendecompositions, which the runtime does: train/laplace.ts's kfacDeviation)`,
        rule.span,
      );
    }
    return { kind: 'posterior', name: decl.name.name, params: params.typed, over, stats, posthoc: true, noise: [], sample: undefined, span: decl.span };
  }
  const theta = tensor('f32', [dims.get(P)!]);
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
      [INPUT, `input is not available in sample: it is read only by the statistics of a posterior over linears ('over linears posthoc')`],
      [OUTPUT_GRAD, `output_grad is not available in sample: it is read only by the statistics of a posterior over linears ('over linears posthoc')`],
    ]);
    const scope: ExprScope = { ctx, values, dims: dimScope, scalars: params.scalars, forbidden, poisoned, noise: `the sample rule of posterior ${decl.name.name} (name its draws: sample(z: normal[K]))` };
    const typed = ok ? new ExprChecker(scope).check(rule.value) : undefined;
    if (typed) {
      if (typed.type.elem !== 'f32' || !sameShape(typed.type.shape, theta.shape)) {
        ctx.error(`a sample must be a parameter vector [p], but this is ${showType(typed.type)}`, rule.value.span);
      } else sample = typed;
    }
  }
  return { kind: 'posterior', name: decl.name.name, params: params.typed, over, stats, posthoc, noise, sample, span: decl.span };
}

/** What the statistics of a posterior see besides the statistics above them, and the names they may not read, with why. */
interface StatNames {
  values: Map<string, ValueBinding>;
  forbidden?: Map<string, string>;
}

function paramsNames(decl: A.PosteriorDecl, dims: Map<string, Dim>): StatNames {
  const theta = tensor('f32', [dims.get(P)!]);
  const values = new Map<string, ValueBinding>([[THETA, { type: theta, ref: { kind: 'theta' } }]]);
  const linearOnly = (name: string, what: string) =>
    `${name} (${what}) is read only by the statistics of a posterior over linears, written 'posterior ${decl.name.name} over linears posthoc': this posterior's statistics are over theta`;
  const forbidden = new Map([
    [INPUT, linearOnly(INPUT, 'the rows a linear map reads')],
    [OUTPUT_GRAD, linearOnly(OUTPUT_GRAD, "the loss's gradient at a linear map's output")],
  ]);
  // An unknown mode is reported elsewhere; its statistics are checked as if post-hoc.
  if (decl.mode) values.set(GRAD, { type: theta, ref: { kind: 'grad' } });
  else {
    forbidden.set(
      GRAD,
      `grad (a training example's gradient of the loss by theta) is read only by the statistics of a post-hoc posterior, written 'posterior ${decl.name.name} over params posthoc': this posterior is collected during training, where its statistics see theta`,
    );
  }
  return { values, forbidden };
}

function linearsNames(decl: A.PosteriorDecl, dims: Map<string, Dim>): StatNames {
  const [rows, inn, out] = [dims.get(ROWS)!, dims.get(IN)!, dims.get(OUT)!];
  const values = new Map<string, ValueBinding>([
    [INPUT, { type: tensor('f32', [rows, inn]), ref: { kind: 'linear_input' } }],
    [OUTPUT_GRAD, { type: tensor('f32', [rows, out]), ref: { kind: 'linear_output_grad' } }],
  ]);
  const perLinear = `the statistics of a posterior over linears are kept per linear map y = input @ P^T and read its input: [rows, in] and output_grad: [rows, out]`;
  const forbidden = new Map([
    [THETA, `theta (the vector of trainable parameters) is not available in posterior ${decl.name.name}: ${perLinear}; statistics of theta need a posterior over params`],
    [GRAD, `grad (a training example's gradient by theta) is not available in posterior ${decl.name.name}: ${perLinear}; statistics of grad need 'over params posthoc'`],
  ]);
  return { values, forbidden };
}

/** The statistics in declaration order; each sees the built-in names and the statistics above it. */
function checkStats(
  ctx: CheckContext,
  decl: A.PosteriorDecl,
  names: StatNames,
  scope: { scalars: ExprScope['scalars']; dims: ReturnType<typeof mapScope>; claim: (name: string, span: Span) => boolean; poisoned: Set<string> },
): TypedStat[] {
  const stats: TypedStat[] = [];
  const statValues = new Map<string, ValueBinding>();
  for (const m of decl.members) {
    if (m.kind !== 'stat') continue;
    if (!scope.claim(m.name.name, m.name.span)) continue;
    const values = new Map([...names.values, ...statValues]);
    const exprScope: ExprScope = {
      ctx,
      values,
      dims: scope.dims,
      scalars: scope.scalars,
      poisoned: scope.poisoned,
      noise: `stat ${m.name.name} of posterior ${decl.name.name}`,
      ...(names.forbidden ? { forbidden: names.forbidden } : {}),
    };
    const stat = checkStat(ctx, new ExprChecker(exprScope), m, scope.dims);
    if (!stat) {
      scope.poisoned.add(m.name.name);
      continue;
    }
    stats.push(stat);
    statValues.set(m.name.name, { type: stat.type, ref: { kind: 'stat', name: m.name.name } });
  }
  return stats;
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
