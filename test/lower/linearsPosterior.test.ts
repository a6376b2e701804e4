/**
 * A posterior over linears (examples/laplace.swag's LaplaceKfac on MlpLaplace), lowered and run on
 * the f64 interpreter: the finetune's training graph is tapped without new inputs; its taps are
 * consistent with the weight gradients (grad.P = Σ_rows gᵀa, the identity KFAC rests on); and
 * collectLinears, fed the taps by name, keeps Σ aᵀa and Σ gᵀg per map. A posterior over linears
 * compiles only through a finetune.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, type Feed } from '../../compiler/ir/index.ts';
import { lowerProgram } from '../../compiler/lower/index.ts';
import { checked, example, feedsFor, lower, matmul, relErr, uniform } from './helpers.ts';

const DIMS = { features: 5, hidden: 4, n: 1 };
const lowered = lowerProgram(example('laplace.swag'), { kind: 'finetune', name: 'MlpLaplace', dims: DIMS });
if (!lowered.ok) throw new Error('MlpLaplace does not lower');
const { network, linearsPosterior } = lowered;

describe('a posterior over linears', () => {
  it('taps every a @ P^T with P a param (LoRA A and B, the head weight) and adds no input', () => {
    expect(linearsPosterior!.linears.map((l) => l.tap)).toEqual([
      { param: 'fc1.A', rows: 1, in: 5, out: 8 },
      { param: 'fc1.B', rows: 1, in: 8, out: 4 },
      { param: 'fc2.A', rows: 1, in: 4, out: 8 },
      { param: 'fc2.B', rows: 1, in: 8, out: 4 },
      { param: 'head.weight', rows: 1, in: 4, out: 10 },
    ]);
    const plain = lower(example('laplace.swag'), { kind: 'finetune', name: 'MlpLaplace', dims: DIMS, posterior: false }).network!;
    expect(network!.training!.inputs).toEqual(plain.training!.inputs);
    const outputs = network!.training!.outputs.map((o) => o.name);
    for (const l of linearsPosterior!.linears) expect(outputs).toEqual(expect.arrayContaining([`tap.${l.tap.param}.input`, `grad.tap.${l.tap.param}.output`]));
  });

  it('names each statistic <P>.<stat>, with its declared axes, and reads the taps by their backward names', () => {
    const fc1A = linearsPosterior!.linears[0]!;
    expect(fc1A.stats.map((s) => [s.tensor, s.reduce, s.shape, s.axes])).toEqual([
      ['fc1.A.A', 'total', [5, 5], ['in', 'in']],
      ['fc1.A.G', 'total', [8, 8], ['out', 'out']],
    ]);
    expect(linearsPosterior!.collect.inputs.slice(0, 5).map((i) => `${i.name}:${i.role}`)).toEqual(['n:input', 'tap.fc1.A.input:input', 'grad.tap.fc1.A.output:input', 'fc1.A.A:state', 'fc1.A.G:state']);
    expect(linearsPosterior!.scalars).toEqual({ prior_precision: 1 });
  });

  it('gives taps with grad.P = gᵀa, and collectLinears sums aᵀa and gᵀg over examples', () => {
    const training = network!.training!;
    const stats: Record<string, Float64Array> = Object.fromEntries(linearsPosterior!.linears.flatMap((l) => l.stats.map((s) => [s.tensor, new Float64Array(s.shape.reduce((a, d) => a * d, 1))])));
    const want: Record<string, Float64Array> = Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, new Float64Array(v.length)]));
    // Parameters and weights once; each example its own x and label.
    const base = feedsFor(training, 1, { labels: Int32Array.of(0) }, 0.5);
    for (let n = 0; n < 4; n++) {
      const feeds: Record<string, Feed> = { ...base, x: uniform(DIMS.features, 200 + n), labels: Int32Array.of(n % 3) };
      const out = evaluate(training, feeds) as Record<string, Float64Array>;
      for (const { tap } of linearsPosterior!.linears) {
        const [a, g] = [out[`tap.${tap.param}.input`]!, out[`grad.tap.${tap.param}.output`]!];
        expect(relErr(out[`grad.${tap.param}`]!, matmul(g, a, tap.out, tap.rows, tap.in, { transA: true }))).toBeLessThan(1e-12);
        const A = matmul(a, a, tap.in, tap.rows, tap.in, { transA: true });
        const G = matmul(g, g, tap.out, tap.rows, tap.out, { transA: true });
        A.forEach((v, k) => (want[`${tap.param}.A`]![k] += v));
        G.forEach((v, k) => (want[`${tap.param}.G`]![k] += v));
      }
      const taps = Object.fromEntries(linearsPosterior!.collect.inputs.filter((i) => i.role === 'input' && i.name !== 'n').map((i) => [i.name, out[i.name]!]));
      Object.assign(stats, evaluate(linearsPosterior!.collect, { n: [n], ...taps, ...stats }));
    }
    for (const [name, v] of Object.entries(want)) {
      expect(Math.max(...v.map(Math.abs)), name).toBeGreaterThan(0);
      expect(relErr(stats[name]!, v), name).toBeLessThan(1e-12);
    }
  });

  it('takes several examples a collectLinears call when every statistic is a total, and one when one counts calls', () => {
    const stacked = lowerProgram(example('laplace.swag'), { kind: 'finetune', name: 'MlpLaplace', dims: DIMS, linearsExamples: 4 });
    if (!stacked.ok) throw new Error('MlpLaplace does not lower with 4 examples a call');
    expect(stacked.linearsPosterior!.examples).toBe(4);
    const fc1A = stacked.linearsPosterior!.collect.inputs.find((i) => i.name === 'tap.fc1.A.input')!;
    expect(stacked.linearsPosterior!.collect.nodes[fc1A.node]!.shape).toEqual([4, 5]);
    // The statistics keep their shapes: [in, in] and [out, out].
    expect(stacked.linearsPosterior!.linears[0]!.stats.map((st) => st.shape)).toEqual([[5, 5], [8, 8]]);
    const averaged = checked(`import "mlp_classifier.swag"
posterior MeanKfac over linears posthoc {
  stat A = average(input^T @ input)
}
finetune MlpMean = MlpClassifier(classes: 10) {
  adapt "fc*" with LoRA(r: 8, alpha: 16)
  posterior MeanKfac
}
`);
    const one = lowerProgram(averaged, { kind: 'finetune', name: 'MlpMean', dims: DIMS, linearsExamples: 4 });
    if (!one.ok) throw new Error(one.errors.map((e) => e.message).join('\n'));
    expect(one.linearsPosterior!.examples).toBe(1);
    const tap = one.linearsPosterior!.collect.inputs.find((i) => i.name === 'tap.fc1.A.input')!;
    expect(one.linearsPosterior!.collect.nodes[tap.node]!.shape).toEqual([1, 5]);
  });

  it('compiles only as part of a finetune', () => {
    const r = lowerProgram(example('laplace.swag'), { kind: 'posterior', name: 'LaplaceKfac', p: 10 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.message).toMatch(/^posterior LaplaceKfac is over linears: its statistics are per linear map of a network, so it compiles as part of a finetune that names it/);
  });
});
