/**
 * The experiment report over several seeds: every metric is the mean ± standard error of the
 * seeds' values, and comparisons with MAP are paired per seed. Checked on two tiny seeds whose
 * numbers are worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { expectedCalibrationError } from '../../eval/metrics.ts';
import { DEMO_CONFIG } from '../../experiment/config.ts';
import { buildReport, type SeedEvaluation } from '../../experiment/report.ts';

/** Two-class probabilities from p(class 1) per example. */
const probs = (p1: number[]) => Float64Array.from(p1.flatMap((p) => [1 - p, p]));
const seed = (labels: number[], map: number[], swag: number[]): SeedEvaluation => ({
  labels: { test: Int32Array.from(labels) },
  evaluated: [
    { method: 'MAP', probs: { test: probs(map) }, seconds: 1 },
    { method: 'SWAG', probs: { test: probs(swag) }, seconds: 2 },
  ],
});

// Seed A: MAP right on 3 of 4, SWAG on 4; seed B: MAP on 2 of 4, SWAG on 3.
const A = seed([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.3], [0.3, 0.8, 0.6, 0.4]);
const B = seed([1, 1, 0, 0], [0.6, 0.3, 0.2, 0.7], [0.7, 0.6, 0.3, 0.6]);
const SOURCES = { test: 'imdb', shift: 'fine foods', ood: 'spam', line: 'test: 4 from imdb.' };
const config = { ...DEMO_CONFIG, seeds: 2, eceBins: [15, 20] };

describe('buildReport over seeds', () => {
  const report = buildReport(config, [A, B], 2, SOURCES, { name: 'SWAG', dims: { K: 5 }, scalars: { scale: 1, eps: 1e-30 } });
  const json = JSON.parse(report.json) as { results: { method: string; metrics: Record<string, number>; stderr: Record<string, number>; perSeed: Record<string, number>[] }[]; comparisons: { method: string; paired: Record<string, { mean: number; se: number; differences: number[] }>; accuracyDelta: number; nllBelowMap: boolean }[] };
  const map = json.results.find((r) => r.method === 'MAP')!;
  const swag = json.results.find((r) => r.method === 'SWAG')!;

  it('gives each metric as the mean ± standard error of the seeds', () => {
    // Accuracy 0.75 and 0.5: mean 0.625; two values' se is |a − b| / 2 = 0.125.
    expect(map.metrics.accuracy).toBe(0.625);
    expect(map.stderr.accuracy).toBeCloseTo(0.125, 15);
    expect(map.perSeed.map((s) => s.accuracy)).toEqual([0.75, 0.5]);
    expect(swag.metrics.accuracy).toBe(0.875);
    // NLL by hand: seed A −(ln .8 + ln .9 + ln .4 + ln .7)/4, seed B −(ln .6 + ln .3 + ln .8 + ln .3)/4.
    const a = -(Math.log(0.8) + Math.log(0.9) + Math.log(0.4) + Math.log(0.7)) / 4;
    const b = -(Math.log(0.6) + Math.log(0.3) + Math.log(0.8) + Math.log(0.3)) / 4;
    expect(map.metrics.nll).toBeCloseTo((a + b) / 2, 12);
    expect(map.stderr.nll).toBeCloseTo(Math.abs(a - b) / 2, 12);
  });

  it('reports ECE at 15 and at 20 bins', () => {
    const e20 = [A, B].map((s) => expectedCalibrationError(s.evaluated[0]!.probs.test, s.labels.test, 20));
    expect(map.metrics['ece (20 bins)']).toBeCloseTo((e20[0]! + e20[1]!) / 2, 15);
    const e15 = [A, B].map((s) => expectedCalibrationError(s.evaluated[0]!.probs.test, s.labels.test, 15));
    expect(map.metrics.ece).toBeCloseTo((e15[0]! + e15[1]!) / 2, 15);
    expect(report.markdown).toContain('ece (20 bins) ↓');
  });

  it('compares with MAP seed by seed', () => {
    const c = json.comparisons.find((x) => x.method === 'SWAG')!;
    // SWAG is 25 points above MAP in both seeds: a paired difference of +25 ± 0.
    expect(c.paired.accuracy!.differences).toEqual([25, 25]);
    expect(c.paired.accuracy!.mean).toBe(25);
    expect(c.paired.accuracy!.se).toBe(0);
    expect(c.accuracyDelta).toBe(25);
    // NLL: seed A's SWAG −(ln .7 + ln .8 + ln .6 + ln .6)/4 minus MAP's, and likewise for B.
    const nll = (p: number[]) => -p.reduce((s, x) => s + Math.log(x), 0) / p.length;
    const dA = nll([0.7, 0.8, 0.6, 0.6]) - nll([0.8, 0.9, 0.4, 0.7]);
    const dB = nll([0.7, 0.6, 0.7, 0.4]) - nll([0.6, 0.3, 0.8, 0.3]);
    expect(c.paired.nll!.differences[0]).toBeCloseTo(dA, 12);
    expect(c.paired.nll!.differences[1]).toBeCloseTo(dB, 12);
    expect(c.paired.nll!.mean).toBeCloseTo((dA + dB) / 2, 12);
    expect(c.paired.nll!.se).toBeCloseTo(Math.abs(dA - dB) / 2, 12);
    expect(c.nllBelowMap).toBe((dA + dB) / 2 < 0);
  });

  it('prints mean ± se in the tables and says the seeds and the posterior in the notes', () => {
    expect(report.markdown).toMatch(/\| SWAG \| \*\*0\.8750 ± 0\.1250\*\* \|/);
    expect(report.markdown).toContain('2 seeds');
    expect(report.markdown).toContain('Posterior SWAG(K: 5, scale: 1)');
    expect(report.markdown).toMatch(/SWAG, in distribution \(imdb\): NLL [+-]\d\.\d{4} ± \d\.\d{4}/);
  });

  it('with one seed gives the numbers without standard errors', () => {
    const one = JSON.parse(buildReport({ ...config, seeds: 1 }, [A], 2, SOURCES).json) as typeof json;
    expect(one.results[0]!.metrics.accuracy).toBe(0.75);
    expect(one.results[0]!.stderr.accuracy).toBeNull();
  });
});
