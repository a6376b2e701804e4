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
 *   softmax Monte Carlo with it matches one done on the closed form;
 * - KFAC: LaplaceKfac's statistics A and G per linear map (the compiled `collectLinears`, fed the
 *   backward's taps on the device, f32 sums) equal the explicit outer products of the reference's
 *   inputs and finite-difference output gradients; the eigenbases and the sampler's covariance
 *   are right, whole and low-rank; and a finetune with KFAC but no diagonal posterior is refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { philoxNormal } from '../../compiler/codegen/wgsl/dropout.ts';
import { FeatureTable, computeFeatures } from '../../train/features.ts';
import { collectKfac, collectPosthoc, compilePosterior, glmFromJacobians, jacobians, kfacDeviation, kfacPosterior, logitCovariance, posteriorDeviations, softmaxMonteCarlo, symmetricEigen } from '../../train/laplace.ts';
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
  return tapped(net, theta, i, {}, {});
}

/**
 * The same, with a probe added to the output of every `a @ P^T` (P a param) and each such a
 * recorded: the Kronecker factors' inputs and, by differences in the probe, output gradients.
 */
function tapped(net: Network, theta: Float64Array, i: number, probes: Record<string, Float64Array>, inputs: Record<string, Float64Array>): Float64Array {
  const tap = (name: string, a: Float64Array, y: Float64Array) => {
    inputs[name] = a;
    const pr = probes[name];
    return pr ? y.map((v, k) => v + pr[k]!) : y;
  };
  const at = (path: string) => {
    const e = net.theta.entries.find((t) => t.path === path)!;
    return theta.subarray(e.offset, e.offset + e.size);
  };
  const layer = (h: Float64Array, inn: number, name: string) => {
    const [W, bias] = [frozen.get(`${name}.weight`)!, frozen.get(`${name}.bias`)!];
    const [A, B] = [at(`${name}.A`), at(`${name}.B`)];
    const u0 = new Float64Array(8);
    for (let k = 0; k < 8; k++) for (let j = 0; j < inn; j++) u0[k] += h[j]! * A[k * inn + j]!;
    const u = tap(`${name}.A`, h, u0);
    const v0 = new Float64Array(H);
    for (let o = 0; o < H; o++) for (let k = 0; k < 8; k++) v0[o] += u[k]! * B[o * 8 + k]!;
    const v = tap(`${name}.B`, u, v0);
    const y = new Float64Array(H);
    for (let o = 0; o < H; o++) {
      let s = bias[o]!;
      for (let j = 0; j < inn; j++) s += h[j]! * W[o * inn + j]!;
      y[o] = Math.max(s + SCALE * v[o]!, 0);
    }
    return y;
  };
  const h = layer(layer(Float64Array.from(x.subarray(i * F, (i + 1) * F)), F, 'fc1'), H, 'fc2');
  const [Wh, bh] = [at('head.weight'), at('head.bias')];
  const f = tap('head.weight', h, Float64Array.from({ length: C }, (_, c) => h.reduce((s, v, j) => s + v * Wh[c * H + j]!, 0)));
  return f.map((v, c) => v + bh[c]!);
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

  it('KFAC three examples a collectLinears call (8 = 3 + 3 + 2, zero rows fill the last) gives the factors of one a call', async () => {
    const { net, map, table } = await setup();
    const device = await testDevice();
    const stacked = await Network.compile(device, { source: readFileSync(PATH, 'utf8'), file: PATH, entry: 'MlpLaplace', dims: { features: F, hidden: H, n: 1 }, batchDim: 'n', readFile: swagReader(), weights: frozen, linearsExamples: 3 });
    try {
      expect(net.unit.compiled.linearsPosterior!.examples).toBe(1);
      expect(stacked.unit.compiled.linearsPosterior!.examples).toBe(3);
      // Each tap input is three examples' rows: [3, in].
      const taps = stacked.unit.compiled.graphs.collectLinears!.inputs.filter((i) => i.role === 'input' && i.name !== 'n');
      for (const t of taps) expect(stacked.unit.compiled.graphs.collectLinears!.nodes[t.node]!.shape[0]).toBe(3);
      const one = await collectKfac(net, map, table, labels);
      const three = await collectKfac(stacked, map, table, labels);
      for (const [k, l] of one.layers.entries()) {
        const m = three.layers[k]!;
        expect(m.param).toBe(l.param);
        const [sa, sg] = [maxAbs(l.A), maxAbs(l.G)];
        for (let i = 0; i < l.A.length; i++) expect(Math.abs(m.A[i]! - l.A[i]!)).toBeLessThan(1e-6 * sa);
        for (let i = 0; i < l.G.length; i++) expect(Math.abs(m.G[i]! - l.G[i]!)).toBeLessThan(1e-6 * sg);
      }
      // The diagonal posterior of the same pass is collected per example either way.
      expect(Array.from(three.diag)).toEqual(Array.from(one.diag));
    } finally {
      net.destroy();
      stacked.destroy();
    }
  }, 180_000);

  it('KFAC: the taps give Σ aᵀa and Σ gᵀg of every a @ P^T, and the sampler has covariance ((1/N) A ⊗ G + τ I)⁻¹', async () => {
    const { net, map, table, theta } = await setup();
    try {
      const factors = await collectKfac(net, map, table, labels);
      const names = ['fc1.A', 'fc1.B', 'fc2.A', 'fc2.B', 'head.weight'];
      expect(factors.layers.map((l) => l.param).sort()).toEqual([...names].sort());
      // The reference: inputs recorded, output gradients by central differences in the probes.
      for (const l of factors.layers) {
        const A = new Float64Array(l.in * l.in);
        const G = new Float64Array(l.out * l.out);
        for (let n = 0; n < N; n++) {
          const inputs: Record<string, Float64Array> = {};
          tapped(net, theta, n, {}, inputs);
          const a = inputs[l.param]!;
          const g = Float64Array.from({ length: l.out }, (_, k) => {
            const h = 1e-6;
            const at = (d: number) => {
              const probe = new Float64Array(l.out);
              probe[k] = d;
              return nll(tapped(net, theta, n, { [l.param]: probe }, {}), labels[n]!);
            };
            return (at(h) - at(-h)) / (2 * h);
          });
          for (let i = 0; i < l.in; i++) for (let j = 0; j < l.in; j++) A[i * l.in + j] += a[i]! * a[j]!;
          for (let i = 0; i < l.out; i++) for (let j = 0; j < l.out; j++) G[i * l.out + j] += g[i]! * g[j]!;
        }
        const [sa, sg] = [maxAbs(A), maxAbs(G)];
        expect(sg).toBeGreaterThan(1e-6);
        for (let k = 0; k < A.length; k++) expect(Math.abs(l.A[k]! - A[k]!)).toBeLessThan(1e-5 * sa);
        for (let k = 0; k < G.length; k++) expect(Math.abs(l.G[k]! - G[k]!)).toBeLessThan(1e-4 * sg);
      }
      // Parameters outside the factored weights (the biases) keep the diagonal Fisher.
      const bias = net.theta.entries.find((e) => e.path === 'head.bias')!;
      expect(Array.from(factors.covered.subarray(bias.offset, bias.offset + bias.size))).toEqual(new Array(bias.size).fill(0));

      // The eigenbases reconstruct their factors. The factors are f32 sums (the compiled
      // statistics), PSD only to within f32 rounding: a rank-deficient one (8 examples) has
      // eigenvalues of about ±1e-9 of its scale where the exact ones are 0, and the eigensolver
      // clamps the negative ones to 0, so the reconstruction is exact to ~1e-9, not 1e-10.
      const post = kfacPosterior(factors);
      post.eigen.forEach((e, k) => {
        const l = factors.layers[k]!;
        for (const [m, d, eig] of [[l.A, l.in, e.A], [l.G, l.out, e.G]] as const) {
          const scale = maxAbs(m);
          for (let i = 0; i < d; i++)
            for (let j = 0; j < d; j++) {
              let s = 0;
              for (let q = 0; q < d; q++) s += eig.vectors[i * d + q]! * eig.values[q]! * eig.vectors[j * d + q]!;
              expect(Math.abs(s - m[i * d + j]!)).toBeLessThan(1e-7 * scale);
            }
        }
      });
      // The sampler is linear in z: its covariance L Lᵀ against the explicit inverse precision, on
      // fc1.A, with the factors whole and in a low-rank form (top 3 eigenpairs of each: the
      // precision is then that of the truncated factors Q_k Λ_k Q_kᵀ).
      const tau = 0.7;
      const lowRank = kfacPosterior(factors, 2, 3);
      const full = symmetricEigen(factors.layers[0]!.A, factors.layers[0]!.in).values.slice().sort((a, b) => b - a);
      const top = lowRank.eigen[0]!.A.values.slice().sort((a, b) => b - a);
      for (let k = 0; k < 3; k++) expect(Math.abs(top[k]! - full[k]!)).toBeLessThan(1e-6 * full[0]!);
      for (const posterior of [post, lowRank]) {
        const index = factors.layers.findIndex((x) => x.param === 'fc1.A');
        const l = factors.layers[index]!;
        const e = posterior.eigen[index]!;
        const kept = (eig: typeof e.A, n: number) => {
          const m = new Float64Array(n * n);
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let q = 0; q < eig.k; q++) m[i * n + j] += eig.vectors[i * eig.k + q]! * eig.values[q]! * eig.vectors[j * eig.k + q]!;
          return m;
        };
        const [Ak, Gk] = [kept(e.A, l.in), kept(e.G, l.out)];
        const size = l.out * l.in;
        const L = Array.from({ length: size }, (_, k) => kfacDeviation(posterior, tau, (j) => (j === l.offset + k ? 1 : 0)).subarray(l.offset, l.offset + size));
        const precision = new Float64Array(size * size);
        for (let o = 0; o < l.out; o++)
          for (let i = 0; i < l.in; i++)
            for (let o2 = 0; o2 < l.out; o2++)
              for (let i2 = 0; i2 < l.in; i2++) precision[(o * l.in + i) * size + o2 * l.in + i2] = (Ak[i * l.in + i2]! * Gk[o * l.out + o2]!) / N + (o === o2 && i === i2 ? tau : 0);
        // cov · precision = I, cov[a][b] = Σ_k L[k][a] L[k][b].
        for (let a = 0; a < size; a++)
          for (let b = 0; b < size; b++) {
            let s = 0;
            for (let c = 0; c < size; c++) {
              let cov = 0;
              for (let k = 0; k < size; k++) cov += L[k]![a]! * L[k]![c]!;
              s += cov * precision[c * size + b]!;
            }
            expect(Math.abs(s - (a === b ? 1 : 0))).toBeLessThan(1e-4);
          }
      }
    } finally {
      net.destroy();
    }
  }, 180_000);

  it('KFAC without a diagonal posterior: the pass says the biases need one', async () => {
    const device = await testDevice();
    const source = `${readFileSync(PATH, 'utf8')}
finetune MlpKfacOnly = MlpClassifier(classes: 10) {
  adapt "fc*" with LoRA(r: 8, alpha: 16)
  posterior LaplaceKfac
}
`;
    const net = await Network.compile(device, { source, file: PATH, entry: 'MlpKfacOnly', dims: { features: F, hidden: H, n: 1 }, batchDim: 'n', readFile: swagReader(), weights: frozen });
    try {
      expect(net.unit.methods).toContain('collectLinears');
      const map = new Map(net.theta.entries.map((e) => [e.path, new Float32Array(e.size)]));
      const rows = new FeatureTable(net.dataInputs, N, new Map([[net.dataInputs[0]!.name, x]]));
      await expect(collectKfac(net, map, rows, labels)).rejects.toThrow(
        "MlpKfacOnly's KFAC factors leave 10 parameters uncovered (biases), which take the diagonal Fisher: name a post-hoc posterior over params with 'stat fisher = total(grad * grad)' in the finetune (examples/laplace.swag's LaplaceDiag)",
      );
    } finally {
      net.destroy();
    }
  }, 120_000);
});
