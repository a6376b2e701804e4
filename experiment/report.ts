/**
 * The experiment's report: every method × {in distribution, shift} × {accuracy, NLL, ECE at each
 * configured bin count, Brier}, OOD-detection AUROCs, reliability diagrams, and the issue's
 * question answered in numbers — do SWAG-LoRA and MultiSWAG beat MAP on NLL and ECE, in
 * distribution and under shift, with accuracy within one point?
 *
 * Over several seeds (each its own data split and training seeds) every metric is the mean ±
 * standard error, and each method is compared with MAP seed by seed: the mean paired difference ±
 * its standard error. The reliability diagrams pool every seed's predictions.
 */
import { evaluate, expectedCalibrationError, oodAuroc, reliabilityBins } from '../eval/metrics.ts';
import { metricBarsSvg, reliabilitySvg } from '../eval/reliability.ts';
import { type MethodResult, renderMarkdown, toJson } from '../eval/report.ts';
import { formatMeanWithError, meanAndStandardError, type PairedDifference, pairedDifference } from '../eval/statistics.ts';
import type { ExperimentConfig } from './config.ts';

export interface EvaluatedMethod {
  method: string;
  /** Predictions on the test set, and on the shifted and OOD sets where the config has them. */
  probs: { test: Float64Array } & Partial<Record<'shift' | 'ood', Float64Array>>;
  /** Wall time of its predictions on all three sets. */
  seconds: number;
}

/** One seed's predictions by every method, with that seed's labels. */
export interface SeedEvaluation {
  evaluated: EvaluatedMethod[];
  labels: { test: Int32Array; shift?: Int32Array };
}

/** How the report names each split (the data sources' file names in brackets). */
export function splitTitles(sources: { test: string; shift: string }): { test: string; shift: string; ood: string } {
  return { test: `in distribution (${sources.test})`, shift: `shift (${sources.shift})`, ood: 'OOD detection' };
}

export interface Comparison {
  method: string;
  split: string;
  /** The mean paired difference (method − MAP) is below 0. */
  nllBelowMap: boolean;
  eceBelowMap: boolean;
  /** Accuracy minus MAP's, in points (mean over seeds). */
  accuracyDelta: number;
  /** Seeds compared. */
  seeds: number;
  /** Per metric, method − MAP seed by seed (accuracy in points): the mean ± standard error and each seed's difference. */
  paired: Record<string, PairedDifference>;
}

/** The metric name of ECE at `bins` bins: `ece` is the 15-bin one of earlier reports. */
export const eceName = (bins: number) => (bins === 15 ? 'ece' : `ece (${bins} bins)`);

/** Accuracy, NLL, ECE at 15 bins and at each configured count, Brier. */
function splitMetrics(probs: Float64Array, labels: Int32Array, eceBins: readonly number[]): Record<string, number> {
  const m = evaluate(probs, labels);
  const out: Record<string, number> = { accuracy: m.accuracy, nll: m.nll, ece: m.ece };
  for (const b of eceBins) if (b !== 15) out[eceName(b)] = expectedCalibrationError(probs, labels, b);
  out.brier = m.brier;
  return out;
}

/** Each seed's metrics into one result: means, standard errors, the per-seed values. */
function summarize(method: string, split: string, perSeed: Record<string, number>[]): MethodResult {
  const names = Object.keys(perSeed[0]!);
  const metrics: Record<string, number> = {};
  const stderr: Record<string, number> = {};
  for (const k of names) {
    const s = meanAndStandardError(perSeed.map((p) => p[k]!));
    metrics[k] = s.mean;
    stderr[k] = s.se;
  }
  return { method, split, metrics, stderr, perSeed };
}

/** Pooled predictions (or labels) of every seed, for the reliability diagrams. */
function pooled<T extends Float64Array | Int32Array>(parts: readonly T[]): T {
  const out = new (parts[0]!.constructor as new (n: number) => T)(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function buildReport(
  config: ExperimentConfig,
  seeds: readonly SeedEvaluation[],
  classes: number,
  sources: { test: string; shift: string; ood: string; line: string },
  posterior?: { name: string; dims: Record<string, number>; scalars: Record<string, number> },
): { json: string; markdown: string; svgs: Record<string, string>; comparisons: Comparison[] } {
  if (seeds.length === 0) throw new Error('no seed to report');
  const SPLITS = splitTitles(sources);
  const eceBins = config.eceBins ?? [15];
  const methods = seeds[0]!.evaluated.map((e) => e.method);
  const of = (seed: SeedEvaluation, method: string) => {
    const e = seed.evaluated.find((x) => x.method === method);
    if (!e) throw new Error(`a seed has no predictions of ${method}`);
    return e;
  };
  const results: MethodResult[] = [];
  for (const split of ['test', 'shift'] as const) {
    if (!seeds[0]!.labels[split]) continue;
    for (const method of methods) {
      const perSeed = seeds.map((s) => splitMetrics(of(s, method).probs[split]!, s.labels[split]!, eceBins));
      const bins = reliabilityBins(pooled(seeds.map((s) => of(s, method).probs[split]!)), pooled(seeds.map((s) => s.labels[split]!)));
      results.push({ ...summarize(method, SPLITS[split], perSeed), bins });
    }
  }
  for (const method of methods) {
    const perSeed = seeds.map((s) => {
      const e = of(s, method);
      const metrics: Record<string, number> = {};
      for (const split of ['shift', 'ood'] as const) {
        if (!e.probs[split]) continue;
        const a = oodAuroc(e.probs.test, e.probs[split]!, classes);
        metrics[`auroc maxprob (${split})`] = a.maxProb;
        metrics[`auroc entropy (${split})`] = a.entropy;
      }
      return metrics;
    });
    if (Object.keys(perSeed[0]!).length) results.push(summarize(method, SPLITS.ood, perSeed));
  }

  const comparisons: Comparison[] = [];
  const resultOf = (method: string, split: string) => results.find((r) => r.method === method && r.split === split);
  // The Bayesian rows beyond SWAG's family (Laplace, BLoB) are compared with MAP too, when present.
  const extra = methods.filter((m) => m.startsWith('Laplace') || m === 'BLoB');
  for (const method of ['SWAG', 'MultiSWAG', ...extra, 'SWA', 'Ensemble', 'MC dropout']) {
    for (const split of [SPLITS.test, SPLITS.shift]) {
      const m = resultOf(method, split);
      const map = resultOf('MAP', split);
      if (!m || !map) continue;
      const paired: Record<string, PairedDifference> = {};
      for (const k of Object.keys(m.metrics)) {
        const scale = k === 'accuracy' ? 100 : 1;
        paired[k] = pairedDifference(m.perSeed!.map((p) => scale * p[k]!), map.perSeed!.map((p) => scale * p[k]!));
      }
      comparisons.push({ method, split, nllBelowMap: paired.nll!.mean < 0, eceBelowMap: paired.ece!.mean < 0, accuracyDelta: paired.accuracy!.mean, seeds: seeds.length, paired });
    }
  }

  const { train } = config;
  const n = seeds.length;
  const swag = train.swag;
  const schedule =
    `then ${swag.epochs} SWAG epochs ${swag.start === 'best' ? 'from the MAP epoch of lowest validation loss (the MAP solution reported) ' : ''}` +
    `at lr ${swag.lr}${swag.anneal && (swag.anneal.epochs > 0 || swag.anneal.divisor !== 1) ? `, annealed linearly to ${swag.lr}/${swag.anneal.divisor} over ${swag.anneal.epochs} epochs (SWALR)` : ''}, ` +
    (swag.collect === 'epoch' ? 'a snapshot at the end of every SWAG epoch.' : `a snapshot every ${swag.collectEvery} steps.`);
  const runSeeds = (i: number) => `${train.seed + i * config.runs}..${train.seed + i * config.runs + config.runs - 1}`;
  const posteriorLine = posterior ? ` Posterior ${posterior.name}(${[...Object.entries(posterior.dims), ...Object.entries(posterior.scalars).filter(([k]) => k !== 'eps')].map(([k, v]) => `${k}: ${v}`).join(', ')}) as the finetune declares it.` : '';
  const notes = [
    `${config.model.entry} from ${config.model.file.split('/').slice(-2).join('/')}${config.model.tokenizer ? `, ${config.model.maxTokens} tokens` : ''}, batch ${config.model.batch}.`,
    `Data: ${sources.line}`,
    n > 1
      ? `${n} seeds: seed i deals the drawn examples out into its own train/validation/test split (data.resplit ${config.data.resplit ?? 0}+i; shift and OOD sets are shared) and trains its ${config.runs} runs with seeds ${train.seed}+i·${config.runs}+m (seed 0: ${runSeeds(0)}; seed ${n - 1}: ${runSeeds(n - 1)}). Every metric is the mean ± standard error over the ${n} seeds; comparisons with MAP are paired per seed.`
      : `One seed (data seed ${config.data.seed}, runs ${runSeeds(0)}): no standard errors (set "seeds" for them).`,
    `Each run: ${train.epochs} epochs AdamW (lr ${train.lr}, warmup ${train.warmupSteps} steps, cosine, weight decay ${train.weightDecay}, clip ${train.clipNorm ?? 1}), ${schedule}`,
    `MAP, MC dropout, SWA and SWAG use run 1 of a seed; Ensemble and MultiSWAG all ${config.runs}. S = ${config.samples} draws (MultiSWAG: ${Math.ceil(config.samples / config.runs)} per run).${posteriorLine}`,
    `ECE: ${eceBins.join(' and ')} equal-width confidence bins (\`ece\` is 15). NLL floors probabilities at 1e-12. OOD AUROC: the test set (negative) against the shifted set or the OOD set (positive), scored by −max probability and by predictive entropy${classes === 2 ? ' (with two classes both scores rank examples alike, so the two AUROCs agree)' : ''}. Reliability diagrams pool the seeds' predictions.`,
    `Prediction wall time (three sets, all draws${n > 1 ? ', all seeds' : ''}): ${methods.map((m) => `${m} ${seeds.reduce((t, s) => t + of(s, m).seconds, 0).toFixed(1)} s`).join(', ')}.`,
  ];
  const showDiff = (p: PairedDifference, digits: number, unit = '') => `${p.mean >= 0 ? '+' : ''}${formatMeanWithError(p, digits)}${unit}`;
  const lower = (p: PairedDifference) => `${p.differences.filter((d) => d < 0).length} of ${p.n} seeds lower`;
  const verdict = comparisons
    .filter((c) => c.method === 'SWAG' || c.method === 'MultiSWAG')
    .map((c) => {
      const clear = (p: PairedDifference) => (Number.isFinite(p.se) && Math.abs(p.mean) > 2 * p.se ? '' : Number.isFinite(p.se) ? ', within 2 standard errors of 0' : '');
      const nll = c.paired.nll!;
      const ece = c.paired.ece!;
      const acc = c.paired.accuracy!;
      const extraEce = eceBins.filter((b) => b !== 15).map((b) => `, ECE (${b} bins) ${showDiff(c.paired[eceName(b)]!, 4)}`).join('');
      return (
        `${c.method}, ${c.split}: NLL ${showDiff(nll, 4)} (${c.nllBelowMap ? 'below' : 'NOT below'} MAP; ${lower(nll)}${clear(nll)}), ` +
        `ECE ${showDiff(ece, 4)} (${c.eceBelowMap ? 'below' : 'NOT below'} MAP; ${lower(ece)}${clear(ece)})${extraEce}, ` +
        `accuracy ${showDiff(acc, 2, ' points')} (${acc.mean >= -1 ? 'within one point of MAP or better' : 'MORE than one point below MAP'}).`
      );
    });

  const title = `swaglet ${config.name}: SWAG-LoRA, ${config.model.entry} on ${sources.test}`;
  const against = n > 1 ? `Differences from MAP, paired per seed (method − MAP; mean ± standard error over ${n} seeds):` : 'Differences from MAP (method − MAP), one seed:';
  const markdown = `${renderMarkdown(results, { title, notes })}\n\n## Against MAP\n\n${against}\n\n${verdict.map((v) => `- ${v}`).join('\n')}\n`;
  const base = JSON.parse(toJson(results, { title, notes })) as Record<string, unknown>;
  const json = `${JSON.stringify({ ...base, comparisons, config }, null, 2)}\n`;

  const series = (split: string) => results.filter((r) => r.split === split && r.bins).map((r) => ({ label: r.method, bins: r.bins! }));
  const svgs: Record<string, string> = {
    'reliability-id': reliabilitySvg(series(SPLITS.test), { title: `Reliability, ${SPLITS.test}` }),
    ...(seeds[0]!.labels.shift ? { 'reliability-shift': reliabilitySvg(series(SPLITS.shift), { title: `Reliability, ${SPLITS.shift}` }) } : {}),
    nll: metricBarsSvg(results.filter((r) => r.split !== SPLITS.ood), 'nll', { title: 'NLL (lower is better)' }),
    ece: metricBarsSvg(results.filter((r) => r.split !== SPLITS.ood), 'ece', { title: 'ECE (lower is better)' }),
  };
  return { json, markdown, svgs, comparisons };
}
