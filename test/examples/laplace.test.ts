/**
 * examples/laplace.swag: the diagonal Laplace posterior on the MLP classifier (5-4-3, LoRA r 8 on
 * both layers, p = 180 parameters), at a random point taken as the MAP, against a plain f64
 * TypeScript reference of the same network:
 * - the post-hoc pass (train/laplace.ts, the compiled backward at batch size 1 feeding the
 *   compiled `collect`) gives `fisher` = Σₙ gₙ ⊙ gₙ, gₙ each example's gradient by central
 *   finite differences of the f64 network, and `mean` = the MAP;
 * - the compiled `sample` draws mean + z / sqrt(fisher + λ), z the Philox normals of its seed
 *   (the CPU twin), for the declared λ and for another compiled in through `posteriorScalars`;
 * - the logit Jacobian rows from C backward passes equal J_c − pᵀJ, J by finite differences;
 * - the GLM predictive's logit covariance, estimated from the sampler's own draws, matches the
 *   closed form J Σ Jᵀ (Σ = diag(1 / (fisher + λ))) within its Monte Carlo error, and the
 *   softmax Monte Carlo with it matches one done on the closed form.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { philoxNormal } from '../../compiler/codegen/wgsl/dropout.ts';
import { FeatureTable, computeFeatures } from '../../train/features.ts';
import { collectPosthoc, compilePosterior, glmFromJacobians, jacobians, logitCovariance, posteriorDeviations, softmaxMonteCarlo } from '../../train/laplace.ts';
import { Network, swagReader } from '../../train/network.ts';
import { testDevice } from '../helpers/device.ts';
import { rng } from '../helpers/random.ts';

const PATH = 'examples/laplace.swag';
const [F, H, C, N] = [5, 4, 10, 8]; // classes: 10, as the finetune says
const SCALE = 16 / 8; // alpha / r
const LAMBDA = 1.0;

const r = rng(20261203);
const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const frozen = new Map<string, Float32Array>([
  ['fc1.weight', Float32Array.from({ length: H * F }, () => normal() / Math.sqrt(F))],
  ['fc1.bias', Float32Array.from({ length: H }, () => 0.1 * normal())],
  ['fc2.weight', Float32Array.from({ length: H * H }, () => normal() / Math.sqrt(H))],
  ['fc2.bias', Float32Array.from({ length: H }, () => 0.1 * normal())],
]);
const x = Float32Array.from({ length: N * F }, normal);
const labels = Int32Array.from({ length: N }, () => Math.floor(r() * C));

async function setup() {
  const device = await testDevice();
  const net = await Network.compile(device, { source: readFileSync(PATH, 'utf8'), file: PATH, entry: 'MlpLaplace', dims: { features: F, hidden: H, n: 1 }, batchDim: 'n', readFile: swagReader(), weights: frozen });
  // The "MAP": a random point (B nonzero, so every gradient is).
  const map = new Map(net.theta.entries.map((e) => [e.path, Float32Array.from({ length: e.size }, () => 0.3 * normal())]));
  const rows = new FeatureTable(net.dataInputs, N, new Map([[net.dataInputs[0]!.name, x]]));
  const table = net.hasPrefix ? await computeFeatures(net, rows) : rows;
  const theta = new Float64Array(net.size);
  for (const e of net.theta.entries) theta.set(map.get(e.path)!, e.offset);
  return { net, map, table, theta };
}

/** The f64 reference: logits of example i at theta (laid out as the network's theta). */
function logits(net: Network, theta: Float64Array, i: number): Float64Array {
  const at = (path: string) => {
    const e = net.theta.entries.find((t) => t.path === path)!;
    return theta.subarray(e.offset, e.offset + e.size);
  };
  const layer = (h: Float64Array, inn: number, name: string) => {
    const [W, bias] = [frozen.get(`${name}.weight`)!, frozen.get(`${name}.bias`)!];
    const [A, B] = [at(`${name}.A`), at(`${name}.B`)];
    const u = new Float64Array(8);
    for (let k = 0; k < 8; k++) for (let j = 0; j < inn; j++) u[k] += h[j]! * A[k * inn + j]!;
    const y = new Float64Array(H);
    for (let o = 0; o < H; o++) {
      let s = bias[o]!;
      for (let j = 0; j < inn; j++) s += h[j]! * W[o * inn + j]!;
      for (let k = 0; k < 8; k++) s += SCALE * u[k]! * B[o * 8 + k]!;
      y[o] = Math.max(s, 0);
    }
    return y;
  };
  const h = layer(layer(Float64Array.from(x.subarray(i * F, (i + 1) * F)), F, 'fc1'), H, 'fc2');
  const [Wh, bh] = [at('head.weight'), at('head.bias')];
  return Float64Array.from({ length: C }, (_, c) => bh[c]! + h.reduce((s, v, j) => s + v * Wh[c * H + j]!, 0));
}

const nll = (f: Float64Array, y: number) => {
  const m = Math.max(...f);
  return Math.log(f.reduce((s, v) => s + Math.exp(v - m), 0)) + m - f[y]!;
};

/** Central differences of g(theta) (a vector) by every parameter: [p][len]. */
function finiteDifferences(theta: Float64Array, g: (t: Float64Array) => Float64Array, h = 1e-6): Float64Array[] {
  return Array.from({ length: theta.length }, (_, j) => {
    const t = Float64Array.from(theta);
    t[j] = theta[j]! + h;
    const up = g(t);
    t[j] = theta[j]! - h;
    const down = g(t);
    return up.map((v, k) => (v - down[k]!) / (2 * h));
  });
}

const maxAbs = (v: ArrayLike<number>) => Array.from(v).reduce((m, a) => Math.max(m, Math.abs(a)), 0);

describe('examples/laplace.swag: diagonal Laplace-LoRA', () => {
  it('collects the Fisher of per-example gradients and samples mean + z / sqrt(fisher + λ)', async () => {
    const { net, map, table, theta } = await setup();
    try {
      const stats = await collectPosthoc(net, map, table, labels);
      const fisher = new Float64Array(net.size);
      for (let i = 0; i < N; i++) {
        const g = finiteDifferences(theta, (t) => Float64Array.of(nll(logits(net, t, i), labels[i]!)));
        g.forEach((d, j) => (fisher[j] += d[0]! ** 2));
      }
      const got = stats.get('fisher')!;
      const scale = maxAbs(fisher);
      expect(scale).toBeGreaterThan(1e-3);
      for (let j = 0; j < net.size; j++) expect(Math.abs(got[j]! - fisher[j]!)).toBeLessThan(1e-4 * scale);
      const mean = stats.get('mean')!;
      for (let j = 0; j < net.size; j++) expect(mean[j]).toBeCloseTo(theta[j]!, 6);

      // The declared λ (the finetune's 1.0) and another compiled in.
      for (const lambda of [LAMBDA, 3.5]) {
        const unit = await compilePosterior(net, readFileSync(PATH, 'utf8'), PATH, 'LaplaceDiag', { prior_precision: lambda });
        try {
          const seed = 4242;
          const [delta] = await posteriorDeviations(unit, stats, Float32Array.from(theta), 1, () => seed);
          for (let j = 0; j < net.size; j++) {
            const want = philoxNormal(seed, 0, j) / Math.sqrt(got[j]! + lambda);
            expect(Math.abs(delta![j]! - want)).toBeLessThan(2e-5 * (1 + Math.abs(theta[j]!)));
          }
        } finally {
          unit.destroy();
        }
      }
    } finally {
      net.destroy();
    }
  }, 120_000);

  it('linearizes: Jacobian rows J_c − pᵀJ, and J Σ Jᵀ from the sampler matches the closed form', async () => {
    const { net, map, table, theta } = await setup();
    try {
      const stats = await collectPosthoc(net, map, table, labels);
      net.writeParameters(map);
      const rows = await jacobians(net, table);
      const p = net.size;
      const fisher = stats.get('fisher')!;
      const unit = await compilePosterior(net, readFileSync(PATH, 'utf8'), PATH, 'LaplaceDiag', { prior_precision: LAMBDA });
      const deviations = await posteriorDeviations(unit, stats, Float32Array.from(theta), 3000, (m) => 99 + m);
      unit.destroy();
      for (let i = 0; i < 3; i++) {
        const f = logits(net, theta, i);
        const J = finiteDifferences(theta, (t) => logits(net, t, i)); // [p][C]
        const m = Math.max(...f);
        const e = f.map((v) => Math.exp(v - m));
        const prob = e.map((v) => v / e.reduce((a, b) => a + b, 0));
        const row = rows[i]!;
        for (let c = 0; c < C; c++) expect(row.logits[c]).toBeCloseTo(f[c]!, 4);
        const jScale = maxAbs(J.flatMap((d) => Array.from(d)));
        const centered = new Float32Array(C * p);
        for (let j = 0; j < p; j++) {
          const shift = prob.reduce((s, pk, k) => s + pk * J[j]![k]!, 0);
          for (let c = 0; c < C; c++) {
            centered[c * p + j] = J[j]![c]! - shift;
            expect(Math.abs(row.jacobian[c * p + j]! - (J[j]![c]! - shift))).toBeLessThan(1e-4 * jScale);
          }
        }
        // Closed form J Σ Jᵀ with the explicit (centered) Jacobian.
        const exact = new Float64Array(C * C);
        for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) for (let j = 0; j < p; j++) exact[a * C + b] += (centered[a * p + j]! * centered[b * p + j]!) / (fisher[j]! + LAMBDA);
        const estimate = logitCovariance(row.jacobian, C, deviations);
        const diag = Math.max(...Array.from({ length: C }, (_, k) => exact[k * C + k]!));
        expect(diag).toBeGreaterThan(1e-4);
        // Monte Carlo error of a covariance from M = 3000 draws: about sqrt(2 / M) ≈ 2.6% of the diagonal.
        for (let k = 0; k < C * C; k++) expect(Math.abs(estimate[k]! - exact[k]!)).toBeLessThan(0.1 * diag);
        // The softmax Monte Carlo on the estimate and on the closed form agree (same ε draws).
        const a = softmaxMonteCarlo(row.logits, estimate, 4000, 7);
        const b = softmaxMonteCarlo(Float64Array.from(f), exact, 4000, 7);
        for (let c = 0; c < C; c++) expect(Math.abs(a[c]! - b[c]!)).toBeLessThan(0.01);
      }
      const probs = glmFromJacobians(rows, C, deviations.slice(0, 200), { softmaxDraws: 500 });
      for (let i = 0; i < N; i++) expect(probs.slice(i * C, (i + 1) * C).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    } finally {
      net.destroy();
    }
  }, 180_000);
});
