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
import { type LoweredLinearsPosterior, linearStatName } from '../compiler/lower/lowerLinearsPosterior.ts';
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

/**
 * Logits at the current parameters and the Jacobian rows J_c − pᵀJ (C × p, row-major) of example
 * `i`. Since Σ_c p_c (J_c − pᵀJ) = 0, C − 1 backward passes suffice: the most probable class is
 * left out and recovered from the others, −Σ_{k≠c} p_k J̃_k / p_c (stable: its p_c is the largest,
 * and a pass with a label of small probability has an accurate p − e_k in f32). Each pass is
 * read back once. Without `logits` (f(x) at the current parameters), a forward pass finds them.
 */
export async function logitJacobian(network: Network, features: FeatureTable, i: number, logits?: ArrayLike<number>): Promise<{ logits: Float32Array; jacobian: Float32Array }> {
  if (network.batch !== 1) throw new Error(`per-example Jacobians need the network at batch size 1 (it has ${network.batch})`);
  const c = network.classes;
  const p = network.size;
  const device = network.device;
  const rows = features.gather([i], 1);
  const f = logits ? Float32Array.from(logits) : ((await device.read(network.unit.forward(rows).y!)) as Float32Array);
  const m = Math.max(...f);
  const e = Array.from(f, (v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  const prob = Float64Array.from(e, (v) => v / z);
  const skip = prob.indexOf(Math.max(...prob));
  const jacobian = new Float32Array(c * p);
  const packed = device.tensor([p], new Float32Array(p));
  try {
    for (let k = 0; k < c; k++) {
      if (k === skip) continue;
      const feeds: Record<string, ArrayLike<number> | Tensor> = { ...rows, labels: Int32Array.of(k) };
      if (network.unit.compiled.network!.trainingTrainSize) feeds.train_size = [1];
      const out = network.unit.backward(feeds);
      for (const en of network.theta.entries) device.copyRange(out[`grad.${en.path}`]!, 0, packed, en.offset, en.size);
      const g = (await device.read(packed)) as Float32Array;
      for (let j = 0; j < p; j++) jacobian[k * p + j] = -g[j]!;
    }
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let k = 0; k < c; k++) if (k !== skip) s += prob[k]! * jacobian[k * p + j]!;
      jacobian[skip * p + j] = -s / prob[skip]!;
    }
  } finally {
    packed.release();
  }
  return { logits: f, jacobian };
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
export async function jacobians(network: Network, features: FeatureTable, onProgress?: (done: number, total: number) => void, logits?: Float32Array): Promise<{ logits: Float32Array; jacobian: Float32Array }[]> {
  const out = [];
  const c = network.classes;
  for (let i = 0; i < features.count; i++) {
    out.push(await logitJacobian(network, features, i, logits?.subarray(i * c, (i + 1) * c)));
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

/**
 * The linearized predictive on a table, one example at a time (its Jacobian is not kept), for
 * several posteriors at once (one set of deviations each; the Jacobians are shared). `logits`:
 * f(x; θ_MAP) of every example, when known (else a forward pass per example finds them).
 */
export async function glmPredictive(network: Network, features: FeatureTable, deviationSets: readonly (readonly Float32Array[])[], options: GlmOptions & { logits?: Float32Array } = {}): Promise<Float64Array[]> {
  const c = network.classes;
  const draws = options.softmaxDraws ?? 1000;
  const probs = deviationSets.map(() => new Float64Array(features.count * c));
  for (let i = 0; i < features.count; i++) {
    const r = await logitJacobian(network, features, i, options.logits?.subarray(i * c, (i + 1) * c));
    deviationSets.forEach((d, k) => probs[k]!.set(softmaxMonteCarlo(r.logits, logitCovariance(r.jacobian, c, d), draws, 1 + i), i * c));
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

/** The Kronecker factors of one weight P [out, in] used as `a @ P^T`: Σ aᵀa over input rows, Σ gᵀg over output-gradient rows (the compiled statistics, f32 sums, widened to f64). */
export interface KfacLayer {
  param: string;
  /** Where P lies in theta. */
  offset: number;
  out: number;
  in: number;
  /** Σₙ aₙ aₙᵀ [in, in], row-major. */
  A: Float64Array;
  /** Σₙ gₙ gₙᵀ [out, out]. */
  G: Float64Array;
}

export interface KfacFactors {
  /** Training examples seen (N). */
  count: number;
  layers: KfacLayer[];
  /** Σₙ gₙ ⊙ gₙ of every parameter, from the post-hoc posterior over params (the diagonal used for those outside the factored weights, such as biases; zeros when it has none and every parameter is covered). */
  diag: Float64Array;
  /** 1 where a parameter belongs to a factored weight. */
  covered: Uint8Array;
}

/** The statistics of a posterior over linears that KFAC reads: the one shaped [in, in] (Σ aᵀa) and the one shaped [out, out] (Σ gᵀg). */
export function kroneckerStats(posterior: LoweredLinearsPosterior): { input: string; output: string } {
  const first = posterior.linears[0]!;
  const find = (axis: string) => first.stats.filter((s) => s.axes.length === 2 && s.axes.every((a) => a === axis));
  const [input, output] = [find('in'), find('out')];
  if (input.length !== 1 || output.length !== 1) {
    throw new Error(
      `KFAC reads one statistic shaped [in, in] (the inputs' Σ aᵀa) and one shaped [out, out] (the output gradients' Σ gᵀg) from posterior ${posterior.name}; it has ${first.stats.map((s) => `${s.name}: [${s.axes.map((a) => a ?? '?').join(', ')}]`).join(', ') || 'none'}`,
    );
  }
  return { input: input[0]!.name, output: output[0]!.name };
}

/**
 * One pass over the training data at the MAP, at batch size 1, through a finetune with a
 * post-hoc posterior over linears (examples/laplace.swag's LaplaceKfac): per example, the
 * compiled backward's taps of every linear map go, by name and on the device, into the compiled
 * `collectLinears`, which keeps the statistics; nothing is read back until the end. KFAC's factors
 * are its statistics shaped [in, in] and [out, out] (`kroneckerStats`). The finetune's post-hoc
 * posterior over params (LaplaceDiag), if it has one, is collected on the way (`posthoc`), and its
 * statistic `diagonal` (default 'fisher', Σ g ⊙ g) is the diagonal Fisher of the parameters no
 * factor covers (biases); it must exist when there are any.
 */
/**
 * Examples per `collectLinears` call in the KFAC pass: their taps stacked, one matmul of depth 32
 * per factor instead of 32 of depth 1 (each of which reads and writes the whole [in, in] factor).
 */
export const KFAC_EXAMPLES_PER_CALL = 32;

export async function collectKfac(
  network: Network,
  map: ReadonlyMap<string, ArrayLike<number>>,
  features: FeatureTable,
  labels: Int32Array,
  onProgress?: (done: number, total: number) => void,
  options: { diagonal?: string } = {},
): Promise<KfacFactors & { posthoc?: Map<string, Float32Array> }> {
  if (network.batch !== 1) throw new Error(`the KFAC pass needs the network at batch size 1 (it has ${network.batch})`);
  const compiled = network.unit.compiled;
  if (compiled.network!.trainingSeed) throw new Error(`the KFAC pass runs at the MAP without dropout or noise, but ${network.unit.name}'s training graph draws some`);
  const linears = compiled.linearsPosterior;
  if (!linears) throw new Error(`${network.unit.name} has no posterior over linears: name one in the finetune, such as examples/laplace.swag's 'posterior LaplaceKfac over linears posthoc'`);
  const names = kroneckerStats(linears);
  const device = network.device;
  network.writeParameters(map);
  const layers: KfacLayer[] = [];
  const covered = new Uint8Array(network.size);
  for (const l of linears.linears) {
    const entry = network.theta.entries.find((e) => e.path === l.tap.param);
    if (!entry || entry.size !== l.tap.out * l.tap.in) throw new Error(`the linear map of ${l.tap.param} [${l.tap.out}x${l.tap.in}] is not a parameter of theta`);
    layers.push({ param: l.tap.param, offset: entry.offset, out: l.tap.out, in: l.tap.in, A: new Float64Array(0), G: new Float64Array(0) });
    covered.fill(1, entry.offset, entry.offset + entry.size);
  }
  const posterior = compiled.posterior?.posthoc ? compiled.posterior : undefined;
  const diagonal = options.diagonal ?? 'fisher';
  if (covered.includes(0) && !posterior?.stats.some((s) => s.name === diagonal && s.shape.length === 1)) {
    throw new Error(
      `${network.unit.name}'s KFAC factors leave ${covered.reduce((n, c) => n + (c ? 0 : 1), 0)} parameters uncovered (biases), which take the diagonal Fisher: name a post-hoc posterior over params with 'stat ${diagonal} = total(grad * grad)' in the finetune (examples/laplace.swag's LaplaceDiag)`,
    );
  }
  for (const l of linears.linears) for (const s of l.stats) network.unit.set(s.tensor, new Float32Array(s.shape.reduce((a, d) => a * d, 1)));
  if (posterior) for (const st of posterior.stats) network.unit.set(st.name, new Float32Array(st.shape.reduce((a, d) => a * d, 1)));
  // collectLinears' inputs are named after the backward outputs that feed them. A call takes
  // `examples` examples (lower/lowerLinearsPosterior.ts): each example's taps are copied into its
  // rows of a staging tensor on the device, and the block is added at once; zero rows fill the
  // last block's rest and add nothing.
  const collectGraph = compiled.graphs.collectLinears!;
  const taps = collectGraph.inputs.filter((i) => i.role === 'input' && i.name !== 'n').map((i) => ({ name: i.name, size: collectGraph.nodes[i.node]!.shape.reduce((a, d) => a * d, 1) }));
  const block = linears.examples;
  const staged = taps.map((t) => ({ ...t, tensor: device.tensor([t.size], new Float32Array(t.size)), rowSize: t.size / block }));
  const zeros = block > 1 ? device.tensor([Math.max(...staged.map((t) => t.size))], new Float32Array(Math.max(...staged.map((t) => t.size)))) : undefined;
  const theta = device.tensor([network.size], new Float32Array(network.size));
  const grad = device.tensor([network.size], new Float32Array(network.size));
  try {
    if (posterior) network.packTheta(theta);
    for (let n = 0; n < features.count; n++) {
      const feeds: Record<string, ArrayLike<number> | Tensor> = { ...features.gather([n], 1), labels: Int32Array.of(labels[n]!) };
      if (compiled.network!.trainingTrainSize) feeds.train_size = [features.count];
      const out = network.unit.backward(feeds);
      const k = n % block;
      for (const t of staged) device.copyRange(out[t.name]!, 0, t.tensor, k * t.rowSize, t.rowSize);
      const last = n === features.count - 1;
      if (k === block - 1 || last) {
        if (zeros && k < block - 1) for (const t of staged) device.copyRange(zeros, 0, t.tensor, (k + 1) * t.rowSize, (block - 1 - k) * t.rowSize);
        network.unit.collectLinears({ n: [n - k], ...Object.fromEntries(staged.map((t) => [t.name, t.tensor])) });
      }
      if (posterior) {
        for (const e of network.theta.entries) device.copyRange(out[`grad.${e.path}`]!, 0, grad, e.offset, e.size);
        network.unit.collect({ theta, grad, n: [n] });
      }
      if (onProgress && (n % 50 === 49 || n === features.count - 1)) onProgress(n + 1, features.count);
    }
    const read = async (name: string) => Float64Array.from((await device.read(network.unit.tensor(name))) as Float32Array);
    for (const [k, l] of linears.linears.entries()) {
      layers[k]!.A = await read(linearStatName(l.tap.param, names.input));
      layers[k]!.G = await read(linearStatName(l.tap.param, names.output));
    }
    const stats = new Map<string, Float32Array>();
    if (posterior) for (const st of posterior.stats) stats.set(st.name, (await device.read(network.unit.tensor(st.name))) as Float32Array);
    const diag = stats.has(diagonal) ? Float64Array.from(stats.get(diagonal)!) : new Float64Array(network.size);
    return { count: features.count, layers, diag, covered, ...(posterior ? { posthoc: stats } : {}) };
  } finally {
    theta.release();
    grad.release();
    zeros?.release();
    for (const t of staged) t.tensor.release();
  }
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

/** Factors larger than this keep their top KFAC_RANK eigenpairs only (a low-rank form; the rest counts as 0). */
export const KFAC_FULL_LIMIT = 64;
export const KFAC_RANK = 64;

/** The top-k eigenpairs of a symmetric PSD matrix [n, n] by subspace iteration with Rayleigh–Ritz (vectors [n, k], row-major). */
export function topEigen(matrix: Float64Array, n: number, k: number, iterations = 30): { values: Float64Array; vectors: Float64Array; k: number } {
  const z = normals(12345);
  let q = Float64Array.from({ length: n * k }, () => z());
  const orthonormalize = (m: Float64Array) => {
    for (let c = 0; c < k; c++) {
      for (let pass = 0; pass < 2; pass++)
        for (let d = 0; d < c; d++) {
          let dot = 0;
          for (let r = 0; r < n; r++) dot += m[r * k + c]! * m[r * k + d]!;
          for (let r = 0; r < n; r++) m[r * k + c] -= dot * m[r * k + d]!;
        }
      let norm = 0;
      for (let r = 0; r < n; r++) norm += m[r * k + c]! ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let r = 0; r < n; r++) m[r * k + c] /= norm;
    }
  };
  const times = (m: Float64Array) => {
    const y = new Float64Array(n * k);
    for (let r = 0; r < n; r++)
      for (let t = 0; t < n; t++) {
        const a = matrix[r * n + t]!;
        if (a === 0) continue;
        for (let c = 0; c < k; c++) y[r * k + c] += a * m[t * k + c]!;
      }
    return y;
  };
  orthonormalize(q);
  for (let it = 0; it < iterations; it++) {
    q = times(q);
    orthonormalize(q);
  }
  // Rayleigh–Ritz: B = Qᵀ M Q, B = V Λ Vᵀ, vectors Q V.
  const mq = times(q);
  const b = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let c = 0; c < k; c++) for (let r = 0; r < n; r++) b[a * k + c] += q[r * k + a]! * mq[r * k + c]!;
  for (let a = 0; a < k; a++) for (let c = a + 1; c < k; c++) b[a * k + c] = b[c * k + a] = (b[a * k + c]! + b[c * k + a]!) / 2;
  const small = symmetricEigen(b, k);
  const vectors = new Float64Array(n * k);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) for (let a = 0; a < k; a++) vectors[r * k + c] += q[r * k + a]! * small.vectors[a * k + c]!;
  return { values: small.values, vectors, k };
}

/** An eigenbasis kept for a factor: all of it (k = n) or its top k. */
export interface FactorEigen {
  values: Float64Array;
  /** [n, k], row-major: column c is eigenvector c. */
  vectors: Float64Array;
  k: number;
}

/**
 * A KFAC Laplace posterior N(θ_MAP, ((1/N) A ⊗ G + τ I)⁻¹) per factored weight, N(θ_MAP, (diag + τ)⁻¹)
 * elsewhere. A factor of size above KFAC_FULL_LIMIT keeps its top KFAC_RANK eigenpairs (the rest
 * taken as 0: precision τ in those directions).
 */
export interface KfacPosterior {
  factors: KfacFactors;
  eigen: { A: FactorEigen; G: FactorEigen }[];
}

export function kfacPosterior(factors: KfacFactors, limit = KFAC_FULL_LIMIT, rank = KFAC_RANK): KfacPosterior {
  const eig = (m: Float64Array, n: number): FactorEigen => (n <= limit ? { ...symmetricEigen(m, n), k: n } : topEigen(m, n, Math.min(rank, n)));
  return { factors, eigen: factors.layers.map((l) => ({ A: eig(l.A, l.in), G: eig(l.G, l.out) })) };
}

/**
 * One deviation θ − θ_MAP for the prior precision τ, from standard normals z(k), k over theta.
 * For a factored weight P [out, in], with Z laid out like P and the kept eigenbases Q_G, Q_A:
 *   δP = Z / √τ + Q_G [ (Q_Gᵀ Z Q_A) ⊙ (1 / sqrt(λ_G λ_Aᵀ / N + τ) − 1 / √τ) ] Q_Aᵀ,
 * which is Q_G [Z' ⊘ sqrt(λ_G λ_Aᵀ / N + τ)] Q_Aᵀ in full bases and treats directions outside a
 * kept low-rank basis as having precision τ. Elsewhere z / sqrt(diag + τ). Linear in z, so its
 * covariance is exactly the posterior's.
 */
export function kfacDeviation(post: KfacPosterior, tau: number, z: (k: number) => number): Float32Array {
  const f = post.factors;
  const p = f.diag.length;
  const delta = new Float32Array(p);
  for (let j = 0; j < p; j++) if (!f.covered[j]) delta[j] = z(j) / Math.sqrt(f.diag[j]! + tau);
  const root = 1 / Math.sqrt(tau);
  f.layers.forEach((l, idx) => {
    const { A, G } = post.eigen[idx]!;
    const [o, m, ka, kg] = [l.out, l.in, A.k, G.k];
    const Z = Float64Array.from({ length: o * m }, (_, t) => z(l.offset + t));
    // ZA = Z Q_A [o, ka]
    const za = new Float64Array(o * ka);
    for (let i = 0; i < o; i++)
      for (let j = 0; j < m; j++) {
        const v = Z[i * m + j]!;
        if (v === 0) continue;
        for (let c = 0; c < ka; c++) za[i * ka + c] += v * A.vectors[j * ka + c]!;
      }
    // core = Q_Gᵀ ZA [kg, ka], scaled
    const core = new Float64Array(kg * ka);
    for (let i = 0; i < o; i++)
      for (let r = 0; r < kg; r++) {
        const g = G.vectors[i * kg + r]!;
        if (g === 0) continue;
        for (let c = 0; c < ka; c++) core[r * ka + c] += g * za[i * ka + c]!;
      }
    for (let r = 0; r < kg; r++) for (let c = 0; c < ka; c++) core[r * ka + c] *= 1 / Math.sqrt((G.values[r]! * A.values[c]!) / f.count + tau) - root;
    // T = Q_G core [o, ka]; δP = Z/√τ + T Q_Aᵀ
    const t = new Float64Array(o * ka);
    for (let i = 0; i < o; i++)
      for (let r = 0; r < kg; r++) {
        const g = G.vectors[i * kg + r]!;
        if (g === 0) continue;
        for (let c = 0; c < ka; c++) t[i * ka + c] += g * core[r * ka + c]!;
      }
    for (let i = 0; i < o; i++)
      for (let j = 0; j < m; j++) {
        let s = Z[i * m + j]! * root;
        for (let c = 0; c < ka; c++) s += t[i * ka + c]! * A.vectors[j * ka + c]!;
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
