/**
 * Laplace-LoRA after training, on a post-hoc posterior (`posterior ... over params posthoc`):
 *
 * - `collectPosthoc`: one pass over the training data at the MAP, with no training step. The
 *   network is compiled at batch size 1, so the compiled backward's gradient is one example's
 *   gradient of its loss by theta (per-example gradients the simple way: N backward passes of one
 *   row; cheap for a small adapter suffix over a cached frozen prefix). Each is fed to the
 *   posterior's compiled `collect` as `grad`, theta as `theta`, the example's index as `n`.
 * - `logitJacobian`: the rows of the Jacobian of the logits by theta at the MAP, from C backward
 *   passes (labels 0..C−1): ∇θ CE(f, c) = Σₖ pₖ Jₖ − J_c, so −∇θ CE(f, c) = J_c − pᵀJ. Those rows
 *   differ from J's by one row common to every class, a shift of all logits together that the
 *   softmax ignores, so they serve J in the linearized predictive.
 * - `glmPredictive`: the linearized (GLM) predictive, f(x; θ) ≈ f(x; θ_MAP) + J(x)(θ − θ_MAP):
 *   logits ~ N(f(x; θ_MAP), J Σ Jᵀ), then Monte Carlo over the softmax. Σ is the posterior's, read
 *   through its own compiled `sample`: with δ_m = θ_m − θ_MAP for M draws, J Σ Jᵀ is estimated by
 *   (1/M) Σ_m (J δ_m)(J δ_m)ᵀ (C × C per example), which works for any Gaussian sampler written in
 *   the language (diagonal Laplace, SWAG) without the runtime knowing its form.
 * - `choosePriorPrecision`: the prior precision by the validation log-likelihood of the linearized
 *   predictive over a grid; each value compiles the posterior's sampler with that scalar.
 */
import { compile, type LiveUnit } from '../swaglet.ts';
import type { Tensor } from '../runtime/index.ts';
import type { FeatureTable } from './features.ts';
import { type Network, swagReader } from './network.ts';

/** The statistics of a post-hoc posterior after one pass over the training data. */
export async function collectPosthoc(network: Network, map: ReadonlyMap<string, ArrayLike<number>>, features: FeatureTable, labels: Int32Array, onProgress?: (done: number, total: number) => void): Promise<Map<string, Float32Array>> {
  const posterior = network.unit.compiled.posterior;
  if (!posterior?.posthoc) throw new Error(`${network.unit.name} has no post-hoc posterior ('posterior ... over params posthoc')`);
  if (network.batch !== 1) throw new Error(`the post-hoc pass needs per-example gradients: compile the network at batch size 1 (it has ${network.batch})`);
  const compiled = network.unit.compiled.network!;
  if (compiled.trainingSeed) throw new Error(`the post-hoc pass runs at the MAP without dropout or noise, but ${network.unit.name}'s training graph draws some (set the adapters' dropout p to 0)`);
  network.writeParameters(map);
  for (const s of posterior.stats) network.unit.set(s.name, new Float32Array(s.shape.reduce((a, d) => a * d, 1)));
  const device = network.device;
  const theta = device.tensor([network.size], new Float32Array(network.size));
  const grad = device.tensor([network.size], new Float32Array(network.size));
  try {
    network.packTheta(theta);
    for (let i = 0; i < features.count; i++) {
      const feeds: Record<string, ArrayLike<number> | Tensor> = { ...features.gather([i], 1), labels: Int32Array.of(labels[i]!) };
      if (compiled.trainingTrainSize) feeds.train_size = [features.count];
      const out = network.unit.backward(feeds);
      for (const e of network.theta.entries) device.copyRange(out[`grad.${e.path}`]!, 0, grad, e.offset, e.size);
      network.unit.collect({ theta, grad, n: [i] });
      if (onProgress && (i % 50 === 49 || i === features.count - 1)) onProgress(i + 1, features.count);
    }
    const stats = new Map<string, Float32Array>();
    for (const s of posterior.stats) stats.set(s.name, (await device.read(network.unit.tensor(s.name))) as Float32Array);
    return stats;
  } finally {
    theta.release();
    grad.release();
  }
}

/** Logits at the current parameters and the Jacobian rows J_c − pᵀJ (C × p, row-major) of example `i`. */
export async function logitJacobian(network: Network, features: FeatureTable, i: number): Promise<{ logits: Float32Array; jacobian: Float32Array }> {
  if (network.batch !== 1) throw new Error(`per-example Jacobians need the network at batch size 1 (it has ${network.batch})`);
  const c = network.classes;
  const p = network.size;
  const device = network.device;
  const rows = features.gather([i], 1);
  const jacobian = new Float32Array(c * p);
  const packed = device.tensor([p], new Float32Array(p));
  let logits: Float32Array | undefined;
  try {
    for (let k = 0; k < c; k++) {
      const feeds: Record<string, ArrayLike<number> | Tensor> = { ...rows, labels: Int32Array.of(k) };
      if (network.unit.compiled.network!.trainingTrainSize) feeds.train_size = [1];
      const out = network.unit.backward(feeds);
      if (!logits) logits = (await device.read(out.y!)) as Float32Array;
      for (const e of network.theta.entries) device.copyRange(out[`grad.${e.path}`]!, 0, packed, e.offset, e.size);
      const g = (await device.read(packed)) as Float32Array;
      for (let j = 0; j < p; j++) jacobian[k * p + j] = -g[j]!;
    }
  } finally {
    packed.release();
  }
  return { logits: logits!, jacobian };
}

/** A standalone posterior unit (its collect and sample) for p parameters, with these scalars. */
export async function compilePosterior(network: Network, source: string, file: string, name: string, scalars: Record<string, number>): Promise<LiveUnit> {
  const [unit] = await compile(source, { device: network.device, file, entries: [name], dims: { p: network.size }, posteriorScalars: scalars, readFile: swagReader() });
  return unit!;
}

/** M draws θ_m − θ_MAP from a posterior unit whose statistics are `stats` (host, M × p); draw m uses the seed `seedOf(m)`. */
export async function posteriorDeviations(unit: LiveUnit, stats: ReadonlyMap<string, ArrayLike<number>>, mapTheta: Float32Array, draws: number, seedOf: (m: number) => number): Promise<Float32Array[]> {
  for (const [name, v] of stats) unit.set(name, v);
  const out: Float32Array[] = [];
  for (let m = 0; m < draws; m++) {
    const feeds: Record<string, ArrayLike<number>> = { seed: [seedOf(m)] };
    if (unit.compiled.graphs.sample!.inputs.some((x) => x.name === 'n')) feeds.n = [1];
    const theta = (await unit.module.device.read(unit.sample(feeds).theta_sample!)) as Float32Array;
    out.push(theta.map((v, j) => v - mapTheta[j]!));
  }
  return out;
}

/** The logit covariance J Σ Jᵀ (C × C) estimated from deviations δ_m: (1/M) Σ_m (J δ_m)(J δ_m)ᵀ. */
export function logitCovariance(jacobian: Float32Array, c: number, deviations: readonly Float32Array[]): Float64Array {
  const p = jacobian.length / c;
  const cov = new Float64Array(c * c);
  const v = new Float64Array(c);
  for (const d of deviations) {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += jacobian[k * p + j]! * d[j]!;
      v[k] = s;
    }
    for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) cov[a * c + b] += (v[a]! * v[b]!) / deviations.length;
  }
  return cov;
}

/** A small seeded generator (xorshift32) and standard normals by Box–Muller, for the softmax Monte Carlo. */
function normals(seed: number): () => number {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** E[softmax(f + L ε)] over `draws` draws, L the Cholesky factor of `cov` (jittered if needed). */
export function softmaxMonteCarlo(logits: ArrayLike<number>, cov: Float64Array, draws: number, seed: number): Float64Array {
  const c = logits.length;
  const L = new Float64Array(c * c);
  let scale = 0;
  for (let k = 0; k < c; k++) scale = Math.max(scale, cov[k * c + k]!);
  const jitter = 1e-9 * Math.max(scale, 1e-30);
  for (let i = 0; i < c; i++)
    for (let j = 0; j <= i; j++) {
      let s = cov[i * c + j]! + (i === j ? jitter : 0);
      for (let k = 0; k < j; k++) s -= L[i * c + k]! * L[j * c + k]!;
      L[i * c + j] = i === j ? Math.sqrt(Math.max(s, 0)) : L[j * c + j]! > 0 ? s / L[j * c + j]! : 0;
    }
  const z = normals(seed);
  const eps = new Float64Array(c);
  const f = new Float64Array(c);
  const out = new Float64Array(c);
  for (let d = 0; d < draws; d++) {
    for (let k = 0; k < c; k++) eps[k] = z();
    let max = -Infinity;
    for (let i = 0; i < c; i++) {
      let s = logits[i]!;
      for (let k = 0; k <= i; k++) s += L[i * c + k]! * eps[k]!;
      f[i] = s;
      max = Math.max(max, s);
    }
    let sum = 0;
    for (let i = 0; i < c; i++) sum += (f[i] = Math.exp(f[i]! - max));
    for (let i = 0; i < c; i++) out[i] += f[i]! / sum / draws;
  }
  return out;
}

export interface GlmOptions {
  /** Draws of the logit Gaussian per example for the softmax Monte Carlo (default 1000). */
  softmaxDraws?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The per-example logits and Jacobian rows of a whole table (for the prior-precision grid, reused per value). */
export async function jacobians(network: Network, features: FeatureTable, onProgress?: (done: number, total: number) => void): Promise<{ logits: Float32Array; jacobian: Float32Array }[]> {
  const out = [];
  for (let i = 0; i < features.count; i++) {
    out.push(await logitJacobian(network, features, i));
    if (onProgress && (i % 50 === 49 || i === features.count - 1)) onProgress(i + 1, features.count);
  }
  return out;
}

/** The linearized predictive's probabilities [count, C] from per-example logits and Jacobians. */
export function glmFromJacobians(rows: readonly { logits: Float32Array; jacobian: Float32Array }[], c: number, deviations: readonly Float32Array[], options: GlmOptions = {}): Float64Array {
  const draws = options.softmaxDraws ?? 1000;
  const probs = new Float64Array(rows.length * c);
  rows.forEach((r, i) => probs.set(softmaxMonteCarlo(r.logits, logitCovariance(r.jacobian, c, deviations), draws, 1 + i), i * c));
  return probs;
}

/** The linearized predictive on a table, one example at a time (its Jacobian is not kept). */
export async function glmPredictive(network: Network, features: FeatureTable, deviations: readonly Float32Array[], options: GlmOptions = {}): Promise<Float64Array> {
  const c = network.classes;
  const draws = options.softmaxDraws ?? 1000;
  const probs = new Float64Array(features.count * c);
  for (let i = 0; i < features.count; i++) {
    const r = await logitJacobian(network, features, i);
    probs.set(softmaxMonteCarlo(r.logits, logitCovariance(r.jacobian, c, deviations), draws, 1 + i), i * c);
    if (options.onProgress && (i % 50 === 49 || i === features.count - 1)) options.onProgress(i + 1, features.count);
  }
  return probs;
}

/** Mean negative log-likelihood of `labels` under probabilities [count, C]. */
export function meanNll(probs: Float64Array, labels: Int32Array, c: number): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(probs[i * c + labels[i]!]!, 1e-12));
  return s / labels.length;
}

// ---- KFAC ----------------------------------------------------------------------------------------

/** The Kronecker factors of one weight P [out, in] used as `a @ P^T`: Σ aᵀa over input rows, Σ gᵀg over output-gradient rows. */
export interface KfacLayer {
  param: string;
  /** Where P lies in theta. */
  offset: number;
  out: number;
  in: number;
  /** Σₙ aₙ aₙᵀ [in, in], row-major, f64. */
  A: Float64Array;
  /** Σₙ gₙ gₙᵀ [out, out]. */
  G: Float64Array;
}

export interface KfacFactors {
  /** Training examples seen (N). */
  count: number;
  layers: KfacLayer[];
  /** Σₙ gₙ ⊙ gₙ of every parameter (the diagonal used for those outside the factored weights, such as biases). */
  diag: Float64Array;
  /** 1 where a parameter belongs to a factored weight. */
  covered: Uint8Array;
}

/**
 * One pass over the training data at the MAP through a network compiled with `kfacTaps` at batch
 * size 1: for every tapped weight P, its input rows a (`kfac.P.input`) and the loss's gradient at
 * its output rows g (`grad.kfac.P.probe`) accumulate Σ aᵀa and Σ gᵀg; the per-example gradient
 * accumulates the diagonal Fisher for the parameters no factor covers.
 */
export async function collectKfac(network: Network, map: ReadonlyMap<string, ArrayLike<number>>, features: FeatureTable, labels: Int32Array, onProgress?: (done: number, total: number) => void): Promise<KfacFactors> {
  if (network.batch !== 1) throw new Error(`the KFAC pass needs the network at batch size 1 (it has ${network.batch})`);
  const compiled = network.unit.compiled.network!;
  if (compiled.trainingSeed) throw new Error(`the KFAC pass runs at the MAP without dropout or noise, but ${network.unit.name}'s training graph draws some`);
  const backward = network.unit.compiled.graphs.backward!;
  const probes = backward.inputs.filter((i) => i.name.startsWith('kfac.') && i.name.endsWith('.probe'));
  if (probes.length === 0) throw new Error(`${network.unit.name} was compiled without KFAC taps (kfacTaps), or no param is used as a linear map's weight`);
  const device = network.device;
  network.writeParameters(map);
  const zeros: Record<string, Tensor> = {};
  const layers: KfacLayer[] = [];
  const covered = new Uint8Array(network.size);
  for (const probe of probes) {
    const param = probe.name.slice('kfac.'.length, -'.probe'.length);
    const shape = backward.nodes[probe.node]!.shape;
    zeros[probe.name] = device.tensor(shape, new Float32Array(shape.reduce((a, d) => a * d, 1)));
    const entry = network.theta.entries.find((e) => e.path === param);
    const inputNode = backward.outputs.find((o) => o.name === `kfac.${param}.input`);
    if (!entry || !inputNode) continue;
    const inn = backward.nodes[inputNode.node]!.shape[1]!;
    const out = shape[1]!;
    if (out * inn !== entry.size) continue;
    layers.push({ param, offset: entry.offset, out, in: inn, A: new Float64Array(inn * inn), G: new Float64Array(out * out) });
    covered.fill(1, entry.offset, entry.offset + entry.size);
  }
  const diag = new Float64Array(network.size);
  const packed = device.tensor([network.size], new Float32Array(network.size));
  const outer = (acc: Float64Array, rows: Float32Array, d: number) => {
    for (let r = 0; r < rows.length / d; r++)
      for (let i = 0; i < d; i++) {
        const vi = rows[r * d + i]!;
        if (vi === 0) continue;
        for (let j = 0; j < d; j++) acc[i * d + j] += vi * rows[r * d + j]!;
      }
  };
  try {
    for (let n = 0; n < features.count; n++) {
      const feeds: Record<string, ArrayLike<number> | Tensor> = { ...features.gather([n], 1), labels: Int32Array.of(labels[n]!), ...zeros };
      if (compiled.trainingTrainSize) feeds.train_size = [features.count];
      const out = network.unit.backward(feeds);
      for (const l of layers) {
        outer(l.A, (await device.read(out[`kfac.${l.param}.input`]!)) as Float32Array, l.in);
        outer(l.G, (await device.read(out[`grad.kfac.${l.param}.probe`]!)) as Float32Array, l.out);
      }
      for (const e of network.theta.entries) device.copyRange(out[`grad.${e.path}`]!, 0, packed, e.offset, e.size);
      const g = (await device.read(packed)) as Float32Array;
      for (let j = 0; j < g.length; j++) diag[j] += g[j]! * g[j]!;
      if (onProgress && (n % 50 === 49 || n === features.count - 1)) onProgress(n + 1, features.count);
    }
  } finally {
    packed.release();
    for (const t of Object.values(zeros)) t.release();
  }
  return { count: features.count, layers, diag, covered };
}

/** Eigen-decomposition of a symmetric matrix [n, n] by cyclic Jacobi: values and vectors (columns of Q, row-major). */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i]! * a[i]!;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j]! * a[i * n + j]!;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n; p++)
      for (let r = p + 1; r < n; r++) {
        const apr = a[p * n + r]!;
        if (Math.abs(apr) < 1e-300) continue;
        const theta = (a[r * n + r]! - a[p * n + p]!) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akr = a[k * n + r]!;
          a[k * n + p] = c * akp - s * akr;
          a[k * n + r] = s * akp + c * akr;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const ark = a[r * n + k]!;
          a[p * n + k] = c * apk - s * ark;
          a[r * n + k] = s * apk + c * ark;
        }
        for (let k = 0; k < n; k++) {
          const qkp = q[k * n + p]!;
          const qkr = q[k * n + r]!;
          q[k * n + p] = c * qkp - s * qkr;
          q[k * n + r] = s * qkp + c * qkr;
        }
      }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => Math.max(a[i * n + i]!, 0)), vectors: q };
}

/** A KFAC Laplace posterior N(θ_MAP, ((1/N) A ⊗ G + τ I)⁻¹) per factored weight, N(θ_MAP, (diag + τ)⁻¹) elsewhere. */
export interface KfacPosterior {
  factors: KfacFactors;
  eigen: { A: ReturnType<typeof symmetricEigen>; G: ReturnType<typeof symmetricEigen> }[];
}

export function kfacPosterior(factors: KfacFactors): KfacPosterior {
  return { factors, eigen: factors.layers.map((l) => ({ A: symmetricEigen(l.A, l.in), G: symmetricEigen(l.G, l.out) })) };
}

/**
 * One deviation θ − θ_MAP for the prior precision τ, from standard normals z(k), k over theta:
 * for a factored weight, δP = Q_G [Z ⊘ sqrt(λ_G λ_Aᵀ / N + τ)] Q_Aᵀ (out × in, Z laid out like P);
 * elsewhere z / sqrt(diag + τ). Linear in z, so its covariance is exactly the posterior's.
 */
export function kfacDeviation(post: KfacPosterior, tau: number, z: (k: number) => number): Float32Array {
  const f = post.factors;
  const p = f.diag.length;
  const delta = new Float32Array(p);
  for (let j = 0; j < p; j++) if (!f.covered[j]) delta[j] = z(j) / Math.sqrt(f.diag[j]! + tau);
  f.layers.forEach((l, k) => {
    const { A, G } = post.eigen[k]!;
    const [o, m] = [l.out, l.in];
    // D = Z ⊘ sqrt(λ_G λ_Aᵀ / N + τ), [o, m]
    const d = new Float64Array(o * m);
    for (let i = 0; i < o; i++) for (let j = 0; j < m; j++) d[i * m + j] = z(l.offset + i * m + j) / Math.sqrt((G.values[i]! * A.values[j]!) / f.count + tau);
    // T = Q_G D [o, m]
    const t = new Float64Array(o * m);
    for (let i = 0; i < o; i++)
      for (let k2 = 0; k2 < o; k2++) {
        const g = G.vectors[i * o + k2]!;
        if (g === 0) continue;
        for (let j = 0; j < m; j++) t[i * m + j] += g * d[k2 * m + j]!;
      }
    // δP = T Q_Aᵀ: δP[i, j] = Σ_k T[i, k] Q_A[j, k]
    for (let i = 0; i < o; i++)
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k2 = 0; k2 < m; k2++) s += t[i * m + k2]! * A.vectors[j * m + k2]!;
        delta[l.offset + i * m + j] = s;
      }
  });
  return delta;
}

/** M deviations from the KFAC posterior at prior precision τ; draw m's normals are a seeded stream (the same for every τ). */
export function kfacDeviations(post: KfacPosterior, tau: number, draws: number, seed: number): Float32Array[] {
  const p = post.factors.diag.length;
  return Array.from({ length: draws }, (_, m) => {
    const z = normals(seed + 104729 * m);
    const values = Float64Array.from({ length: p }, () => z());
    return kfacDeviation(post, tau, (k) => values[k]!);
  });
}
