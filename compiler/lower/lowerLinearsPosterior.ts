/**
 * A posterior over linears (`posterior LaplaceKfac over linears posthoc { stat A = ... }`): its
 * statistics kept once per tapped linear map y = a Pᵀ of a finetune's training graph (see
 * linearTaps.ts), all updated by one graph, `collectLinears`:
 *
 * - inputs: `n` (f32 scalar, examples collected before this one, as for `collect`) and, per tapped
 *   map, `tap.<P>.input` [rows, in] and `grad.tap.<P>.output` [rows, out], named after the training
 *   graph's outputs that feed them (so a caller feeds `collectLinears` with what `backward`
 *   returned, by name);
 * - state and outputs: per map and statistic s, the tensor `<P>.<s>` (fc1.A.A, fc1.A.G, ...).
 *
 * Each map binds the posterior's sizes `rows`, `in`, `out` to its own, then the declared sizes as a
 * posterior over params binds them; the statistics lower exactly as `collect`'s do
 * (lowerPosterior.ts's addStatUpdates), `input` and `output_grad` standing for that map's taps.
 *
 * With `examples` E > 1 a call adds E examples at once: each tap holds their rows stacked
 * ([E·rows, in]), so `rows` binds to E·rows and `total(input^T @ input)` sums over all of them, one
 * matmul of depth E·rows instead of E of depth rows (the pass at batch size 1 calls it once per E
 * examples; zero rows pad the last block and add nothing). Only `total` statistics allow that: an
 * average or a ring counts examples one call at a time, so with one of those a call takes one
 * example whatever was asked (`examples` of the result says how many it takes).
 */
import { GraphBuilder, type Graph } from '../ir/index.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';
import { dimSymbol } from '../types/dim.ts';
import type { CheckedProgram, TypedPosterior } from '../types/typed-program.ts';
import { type BindingLayer, type BoundDim, DimEnv, bindDeclParams } from './bindDims.ts';
import { LowerError } from './errors.ts';
import { bindScalars } from './lowerAdapter.ts';
import { type LinearTap, tapInputName, tapOutputName } from './linearTaps.ts';
import { type StatInfo, addStatUpdates, statInfos } from './lowerPosterior.ts';
import { irSpan } from './spans.ts';

/** One statistic of one linear map, as a tensor of the unit. */
export interface LinearStatInfo extends StatInfo {
  /** The unit's tensor: `<P>.<stat>`. */
  tensor: string;
  /** The declared size name of each axis where it is a plain name (`in`, `out`, `rows`, `K`), else undefined: `[in, in]` for Σ aᵀa. */
  axes: (string | undefined)[];
}

export interface LoweredLinearsPosterior {
  name: string;
  /** The declared sizes (not rows/in/out, which are per map). */
  dims: Record<string, BoundDim>;
  scalars: Record<string, number>;
  /** Every tapped linear map, in the order the forward meets them, with its statistics. */
  linears: { tap: LinearTap; stats: LinearStatInfo[] }[];
  /** Examples one `collectLinears` call takes, their tap rows stacked: [examples·rows, in]. */
  examples: number;
  collect: Graph;
}

/** The unit tensor of statistic `stat` of the map with weight `param`. */
export const linearStatName = (param: string, stat: string) => `${param}.${stat}`;

/** The graph input that feeds a map's `output_grad`: the training graph's gradient at its tapped output. */
export const tapOutputGradName = (param: string) => `grad.${tapOutputName(param)}`;

export function lowerLinearsPosterior(program: CheckedProgram, name: string, taps: readonly LinearTap[], layers: readonly BindingLayer[], givenScalars: Readonly<Record<string, number>>, taken: ReadonlySet<string>, span: SourceSpan, examples = 1): LoweredLinearsPosterior {
  const decl = program.posteriors.find((x) => x.name === name);
  if (!decl || decl.over !== 'linears') throw new LowerError('internal', `no posterior over linears named ${name}`, span);
  const what = `posterior ${name}`;
  if (taps.length === 0) {
    throw new LowerError('bad-request', `${what} keeps statistics per trainable linear map (x @ P^T with P a param used once), but this finetune has none`, span);
  }
  const scalars = bindScalars(decl.params, givenScalars, what, span);
  const declared = new DimEnv(what, undefined, span);
  bindDeclParams(declared, what, decl.params, layers, span);
  // Stacking examples needs statistics that are sums over rows (see the module doc).
  const stacked = decl.stats.every((s) => s.reduce === 'total') ? examples : 1;
  const b = new GraphBuilder();
  const at = irSpan(decl.span);
  const n = b.input('n', [], { span: at });
  const linears = taps.map((tap) => {
    const env = declared.child(`${what} on ${tap.param}`, span);
    env.bind('rows', tap.rows * stacked, stacked > 1 ? `the rows of ${tap.param}'s input, for ${stacked} examples` : `the rows of ${tap.param}'s input`, span);
    env.bind('in', tap.in, `the input width of ${tap.param}`, span);
    env.bind('out', tap.out, `the output width of ${tap.param}`, span);
    const plan = { decl, env, scalars };
    const stats = statInfos(plan).map((s, i) => ({ ...s, tensor: linearStatName(tap.param, s.name), axes: axesOf(decl, i) }));
    for (const s of stats) {
      if (taken.has(s.tensor)) throw new LowerError('bad-request', `the statistic ${s.name} of ${what} on ${tap.param} would be the tensor ${s.tensor}, which the finetune already has; rename the statistic`, s.span);
    }
    const linearInput = b.input(tapInputName(tap.param), [tap.rows * stacked, tap.in], { span: at });
    const linearOutputGrad = b.input(tapOutputGradName(tap.param), [tap.rows * stacked, tap.out], { span: at });
    addStatUpdates(b, plan, stats, n, { linearInput, linearOutputGrad }, (stat) => linearStatName(tap.param, stat));
    return { tap: { ...tap }, stats };
  });
  return { name, dims: declared.entries(), scalars, linears, examples: stacked, collect: b.build() };
}

function axesOf(decl: TypedPosterior, i: number): (string | undefined)[] {
  return decl.stats[i]!.type.shape.map((d) => dimSymbol(d));
}
