/**
 * The experiment's report: every method × {in distribution, shift} × {accuracy, NLL, ECE, Brier},
 * OOD-detection AUROCs, reliability diagrams, and the issue's question answered in numbers —
 * do SWAG-LoRA and MultiSWAG beat MAP on NLL and ECE, in distribution and under shift, with
 * accuracy within one point?
 */
import { evaluate, oodAuroc, reliabilityBins } from '../eval/metrics.ts';
import { metricBarsSvg, reliabilitySvg } from '../eval/reliability.ts';
import { type MethodResult, renderMarkdown, toJson } from '../eval/report.ts';
import type { ExperimentConfig } from './config.ts';

export interface EvaluatedMethod {
  method: string;
  /** Predictions on the test set, and on the shifted and OOD sets where the config has them. */
  probs: { test: Float64Array } & Partial<Record<'shift' | 'ood', Float64Array>>;
  /** Wall time of its predictions on all three sets. */
  seconds: number;
}

/** How the report names each split (the data sources' file names in brackets). */
export function splitTitles(sources: { test: string; shift: string }): { test: string; shift: string; ood: string } {
  return { test: `in distribution (${sources.test})`, shift: `shift (${sources.shift})`, ood: 'OOD detection' };
}

export interface Comparison {
  method: string;
  split: string;
  nllBelowMap: boolean;
  eceBelowMap: boolean;
  /** Accuracy minus MAP's, in points. */
  accuracyDelta: number;
}

export function buildReport(
  config: ExperimentConfig,
  evaluated: readonly EvaluatedMethod[],
  labels: { test: Int32Array; shift?: Int32Array },
  classes: number,
  sources: { test: string; shift: string; ood: string; line: string },
): { json: string; markdown: string; svgs: Record<string, string>; comparisons: Comparison[] } {
  const SPLITS = splitTitles(sources);
  const results: MethodResult[] = [];
  for (const split of ['test', 'shift'] as const) {
    const y = labels[split];
    if (!y) continue;
    for (const e of evaluated) {
      const m = evaluate(e.probs[split]!, y);
      results.push({ method: e.method, split: SPLITS[split], metrics: { accuracy: m.accuracy, nll: m.nll, ece: m.ece, brier: m.brier }, bins: reliabilityBins(e.probs[split]!, y) });
    }
  }
  for (const e of evaluated) {
    const metrics: Record<string, number> = {};
    for (const [split, name] of [['shift', 'shift'], ['ood', 'ood']] as const) {
      if (!e.probs[split]) continue;
      const a = oodAuroc(e.probs.test, e.probs[split]!, classes);
      metrics[`auroc maxprob (${name})`] = a.maxProb;
      metrics[`auroc entropy (${name})`] = a.entropy;
    }
    if (Object.keys(metrics).length) results.push({ method: e.method, split: SPLITS.ood, metrics });
  }

  const comparisons: Comparison[] = [];
  const metricsOf = (method: string, split: string) => results.find((r) => r.method === method && r.split === split)?.metrics;
  for (const method of ['SWAG', 'MultiSWAG', 'SWA', 'Ensemble', 'MC dropout']) {
    for (const split of [SPLITS.test, SPLITS.shift]) {
      const m = metricsOf(method, split);
      const map = metricsOf('MAP', split);
      if (!m || !map) continue;
      comparisons.push({ method, split, nllBelowMap: m.nll! < map.nll!, eceBelowMap: m.ece! < map.ece!, accuracyDelta: 100 * (m.accuracy! - map.accuracy!) });
    }
  }

  const { train } = config;
  const notes = [
    `${config.model.entry} from ${config.model.file.split('/').slice(-2).join('/')}, ${config.data.features === undefined ? `${config.model.maxTokens} tokens, ` : ''}batch ${config.model.batch}.`,
    `Data: ${sources.line}`,
    `${config.runs} runs (seeds ${train.seed}..${train.seed + config.runs - 1}): ${train.epochs} epochs AdamW (lr ${train.lr}, warmup ${train.warmupSteps} steps, cosine, weight decay ${train.weightDecay}, clip ${train.clipNorm ?? 1}), then ${train.swag.epochs} SWAG epochs at lr ${train.swag.lr}, a snapshot every ${train.swag.collectEvery} steps.`,
    `MAP, MC dropout, SWA and SWAG use run 1; Ensemble and MultiSWAG all ${config.runs}. S = ${config.samples} draws (MultiSWAG: ${Math.ceil(config.samples / config.runs)} per run).`,
    `ECE: 15 equal-width confidence bins. NLL floors probabilities at 1e-12. OOD AUROC: the test set (negative) against the shifted set or the OOD set (positive), scored by −max probability and by predictive entropy${classes === 2 ? ' (with two classes both scores rank examples alike, so the two AUROCs agree)' : ''}.`,
    `Prediction wall time (three sets, all draws): ${evaluated.map((e) => `${e.method} ${e.seconds.toFixed(1)} s`).join(', ')}.`,
  ];
  const verdict = comparisons
    .filter((c) => c.method === 'SWAG' || c.method === 'MultiSWAG')
    .map((c) => `${c.method}, ${c.split}: NLL ${c.nllBelowMap ? 'below' : 'NOT below'} MAP, ECE ${c.eceBelowMap ? 'below' : 'NOT below'} MAP, accuracy ${c.accuracyDelta >= 0 ? '+' : ''}${c.accuracyDelta.toFixed(2)} points (${c.accuracyDelta >= -1 ? 'within one point of MAP or better' : 'MORE than one point below MAP'}).`);

  const title = `swaglet ${config.name}: SWAG-LoRA, ${config.model.entry} on ${sources.test}`;
  const markdown = `${renderMarkdown(results, { title, notes })}\n\n## Against MAP\n\n${verdict.map((v) => `- ${v}`).join('\n')}\n`;
  const base = JSON.parse(toJson(results, { title, notes })) as Record<string, unknown>;
  const json = `${JSON.stringify({ ...base, comparisons, config }, null, 2)}\n`;

  const series = (split: string) => results.filter((r) => r.split === split && r.bins).map((r) => ({ label: r.method, bins: r.bins! }));
  const svgs: Record<string, string> = {
    'reliability-id': reliabilitySvg(series(SPLITS.test), { title: `Reliability, ${SPLITS.test}` }),
    'reliability-shift': reliabilitySvg(series(SPLITS.shift), { title: `Reliability, ${SPLITS.shift}` }),
    nll: metricBarsSvg(results.filter((r) => r.split !== SPLITS.ood), 'nll', { title: 'NLL (lower is better)' }),
    ece: metricBarsSvg(results.filter((r) => r.split !== SPLITS.ood), 'ece', { title: 'ECE (lower is better)' }),
  };
  return { json, markdown, svgs, comparisons };
}
