/**
 * Posteriors lowered from swag.swag: collecting snapshots gives the closed-form running moments
 * and deviation ring, and sampling gives the SWAG / diagonal SWAG / SWA formulas.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, hashNormal } from '../../compiler/ir/index.ts';
import { ringSlot } from '../../compiler/lower/index.ts';
import { MLP_DIMS, example, lower, relErr, uniform } from './helpers.ts';

const p = 6;
const K = 3;
const snapshots = Array.from({ length: 7 }, (_, i) => uniform(p, 100 + i, -2, 2));

function swag(dims: Record<string, number> = { K }) {
  return lower(example('swag.swag'), { kind: 'posterior', name: 'SWAG', p, dims }).posterior!;
}

/** Runs collect over the snapshots from zero statistics. */
function collectAll(post: ReturnType<typeof swag>): Record<string, Float64Array> {
  let state: Record<string, Float64Array> = Object.fromEntries(post.stats.map((s) => [s.name, new Float64Array(s.shape.reduce((a, b) => a * b, 1))]));
  snapshots.forEach((theta, n) => {
    state = evaluate(post.collect, { theta, n: [n], ...state }) as Record<string, Float64Array>;
  });
  return state;
}

describe('SWAG collect', () => {
  const post = swag();

  it('reads theta, the snapshot count n and the statistics; writes the statistics', () => {
    expect(post.collect.inputs.map((i) => `${i.name}:${i.role}`)).toEqual(['theta:input', 'n:input', 'mean:state', 'sq_mean:state', 'D:state', 'filled:state']);
    expect(post.collect.outputs.map((o) => o.name)).toEqual(['mean', 'sq_mean', 'D', 'filled']);
    expect(post.stats.map((s) => [s.name, s.reduce, s.capacity, s.shape])).toEqual([
      ['mean', 'average', undefined, [p]],
      ['sq_mean', 'average', undefined, [p]],
      ['D', 'last', K, [K, p]],
      ['filled', 'last', K, [K]],
    ]);
  });

  it('keeps the running mean, second moment and the last K deviations from the updated mean', () => {
    const got = collectAll(post);
    const N = snapshots.length;
    const mean = new Float64Array(p);
    const sq = new Float64Array(p);
    for (const s of snapshots) for (let j = 0; j < p; j++) (mean[j]! += s[j]! / N), (sq[j]! += s[j]! ** 2 / N);
    expect(relErr(got.mean!, mean)).toBeLessThan(1e-12);
    expect(relErr(got.sq_mean!, sq)).toBeLessThan(1e-12);
    // Row (i mod K) holds θ_i − mean after i + 1 snapshots; the last write to each row wins.
    const D = new Float64Array(K * p);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < p; j++) {
        let m = 0;
        for (let k = 0; k <= i; k++) m += snapshots[k]![j]! / (i + 1);
        D[(i % K) * p + j] = snapshots[i]![j]! - m;
      }
    }
    expect(relErr(got.D!, D)).toBeLessThan(1e-12);
  });
});

describe('sampling', () => {
  const state = collectAll(swag());
  // The noise is drawn in the graph from the seed: draw k is stream k, by the interpreter's generator.
  const seed = 1234;
  const draw = (n: number, stream: number) => Float64Array.from({ length: n }, (_, i) => hashNormal(seed, stream, i));
  const z1 = draw(p, 0);
  const z2 = draw(K, 1);
  const sigma = (scale: number, j: number) => Math.sqrt(scale) * Math.sqrt(Math.max(state.sq_mean![j]! - state.mean![j]! ** 2, 1e-30));

  it('SWAG: mean + √scale·σ⊙z1 + √(scale/(K−1))·Dᵀz2', () => {
    const post = swag();
    expect(post.sample.inputs.map((i) => `${i.name}:${i.role}`)).toEqual(['mean:state', 'sq_mean:state', 'D:state', 'filled:state', 'seed:input']);
    expect(Array.from(state.filled!)).toEqual([1, 1, 1]); // 7 snapshots: the ring is full, K_eff = K
    expect(post.sample.nodes.filter((n) => n.op === 'randomNormal').map((n) => [n.shape, n.attrs.stream])).toEqual([[[p], 0], [[K], 1]]);
    expect(post.noise).toEqual([
      { name: 'z1', shape: [p] },
      { name: 'z2', shape: [K] },
    ]);
    const got = evaluate(post.sample, { ...state, seed: [seed] }).theta_sample!;
    const want = Float64Array.from({ length: p }, (_, j) => {
      let low = 0;
      for (let k = 0; k < K; k++) low += state.D![k * p + j]! * z2[k]!;
      return state.mean![j]! + sigma(0.5, j) * z1[j]! + Math.sqrt(0.5 / (K - 1)) * low;
    });
    expect(relErr(got, want)).toBeLessThan(1e-12);
  });

  it('DiagSWAG: mean + √scale·σ⊙z, no low-rank part', () => {
    const post = lower(example('swag.swag'), { kind: 'posterior', name: 'DiagSWAG', p }).posterior!;
    expect(post.stats.map((s) => s.name)).toEqual(['mean', 'sq_mean']);
    expect(post.sample.inputs.map((i) => `${i.name}:${post.sample.nodes[i.node]!.dtype}`)).toEqual(['mean:f32', 'sq_mean:f32', 'seed:i32']);
    const got = evaluate(post.sample, { mean: state.mean!, sq_mean: state.sq_mean!, seed: [seed] }).theta_sample!;
    expect(relErr(got, Float64Array.from({ length: p }, (_, j) => state.mean![j]! + sigma(1, j) * z1[j]!))).toBeLessThan(1e-12);
  });

  it('SWA: the mean, with no noise at all', () => {
    const post = lower(example('swag.swag'), { kind: 'posterior', name: 'SWA', p }).posterior!;
    expect(post.noise).toEqual([]);
    expect(post.sample.inputs.map((i) => i.name)).toEqual(['mean']);
    expect(relErr(evaluate(post.sample, { mean: state.mean! }).theta_sample!, state.mean!)).toBeLessThan(1e-15);
  });
});

describe('a finetune posterior', () => {
  it('is over the finetune theta, with K from the request and scale from the finetune', () => {
    const { network, posterior } = lower(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: MLP_DIMS, posterior: { dims: { K: 4 } } });
    expect(posterior!.p).toBe(network!.theta.size);
    expect(posterior!.dims.K).toEqual({ value: 4, source: 'the request' });
    expect(posterior!.scalars).toEqual({ scale: 0.5, eps: 1e-30 });
    expect(posterior!.stats.find((s) => s.name === 'D')!.shape).toEqual([4, network!.theta.size]);
  });

  it('keeps the finetune’s K when the request does not override it', () => {
    const { posterior } = lower(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: MLP_DIMS });
    expect(posterior!.dims.K!.value).toBe(20);
  });
});

describe('the ring slot n mod K, from ops without floor or mod', () => {
  for (const k of [1, 3, 20]) {
    it(`is exact for K = ${k}, n from 0 to 2^24 − 1`, () => {
      const b = new GraphBuilder();
      b.output('slot', ringSlot(b, b.input('n', []), k));
      const g = b.build();
      const ns = [...Array.from({ length: 50 }, (_, i) => i), 2 ** 20 + 3, 2 ** 23 + 17, 2 ** 24 - 1];
      for (const n of ns) expect(evaluate(g, { n: [n] }).slot![0], `n = ${n}`).toBe(n % k);
    });
  }
});
