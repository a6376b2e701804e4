/**
 * examples/blob.swag: BLoB on the MLP classifier. On a model small enough to write out by hand:
 * - the training graph's loss (NLL + KL/N) and every gradient equal a plain TypeScript ELBO that
 *   uses the same noise draws (Philox stream k for the k-th noise site, philoxNormal), its
 *   gradients by central finite differences;
 * - the KL penalty equals the KL integrated numerically, and its gradient equals finite
 *   differences of it;
 * - the device draws the same noise as the CPU twin the interpreter uses, on odd sizes;
 * - a short training run through train/trainer.ts lowers the loss, and where an input feature is
 *   always 0 (no data reaches those entries of A), the KL alone moves q(A) toward the prior: σ
 *   grows toward prior_std and |M| shrinks.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSourceFile } from '../../cli/commands/check.ts';
import { philoxNormal } from '../../compiler/codegen/wgsl/dropout.ts';
import { evaluate } from '../../compiler/ir/index.ts';
import { lowerProgram } from '../../compiler/lower/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { check, parse } from '../../compiler/index.ts';
import { checkSource } from '../../compiler/types/check.ts';
import { trainRun } from '../../train/trainer.ts';
import { Network } from '../../train/network.ts';
import { testDevice } from '../helpers/device.ts';
import { rng } from '../helpers/random.ts';
import { deviceOptions, runProgram } from '../program/run.ts';
import { featuresOf, NET_MODEL, task } from '../train/fixture.ts';

const PATH = 'examples/blob.swag';
const [F, H, C, N, R] = [5, 4, 3, 6, 8]; // r: 8, as the finetune says
const [ALPHA, PRIOR] = [16, 0.2];
const TRAIN_SIZE = 50;
const SEED = 123457;

function program() {
  const checked = check(parse(readFileSync(PATH, 'utf8'), PATH), { readFile: readSourceFile });
  expect(checked.diagnostics).toEqual([]);
  return checked.program;
}

const softplus = (g: number) => Math.max(g, 0) + Math.log1p(Math.exp(-Math.abs(g)));
const klElement = (m: number, g: number) => {
  const s = softplus(g);
  return Math.log(PRIOR / s) + (s * s + m * m) / (2 * PRIOR * PRIOR) - 0.5;
};

type Feeds = Record<string, Float64Array | Int32Array>;

/** The negative ELBO per example, written out: NLL of the MLP with A = M + softplus(G) ⊙ ε, plus KL / N. */
function elbo(f: Feeds): { loss: number; kl: number } {
  const eps = (stream: number, size: number) => Float64Array.from({ length: size }, (_, i) => philoxNormal(SEED, stream, i));
  const layer = (x: Float64Array, rows: number, inn: number, name: string, stream: number) => {
    const [M, G, B, W, bias] = ['M', 'G', 'B', 'weight', 'bias'].map((k) => f[`${name}.${k}`] as Float64Array);
    const e = eps(stream, R * inn);
    const A = M!.map((m, i) => m + softplus(G![i]!) * e[i]!);
    const y = new Float64Array(rows * H);
    for (let n = 0; n < rows; n++)
      for (let o = 0; o < H; o++) {
        let base = 0;
        for (let i = 0; i < inn; i++) base += x[n * inn + i]! * W![o * inn + i]!;
        let low = 0;
        for (let k = 0; k < R; k++) {
          let u = 0;
          for (let i = 0; i < inn; i++) u += x[n * inn + i]! * A[k * inn + i]!;
          low += u * B![o * R + k]!;
        }
        y[n * H + o] = Math.max(0, base + (ALPHA / R) * low + bias![o]!);
      }
    return y;
  };
  const h1 = layer(f.x as Float64Array, N, F, 'fc1', 1);
  const h2 = layer(h1, N, H, 'fc2', 2);
  const [hw, hb] = [f['head.weight'] as Float64Array, f['head.bias'] as Float64Array];
  let nll = 0;
  for (let n = 0; n < N; n++) {
    const logits = Array.from({ length: C }, (_, c) => hb[c]! + Array.from({ length: H }, (_, k) => h2[n * H + k]! * hw[c * H + k]!).reduce((a, b) => a + b, 0));
    const top = Math.max(...logits);
    const lse = top + Math.log(logits.reduce((a, l) => a + Math.exp(l - top), 0));
    nll += lse - logits[(f.labels as Int32Array)[n]!]!;
  }
  let kl = 0;
  for (const name of ['fc1', 'fc2']) {
    const [M, G] = [f[`${name}.M`] as Float64Array, f[`${name}.G`] as Float64Array];
    M.forEach((m, i) => (kl += klElement(m, G[i]!)));
  }
  return { loss: nll / N + kl / TRAIN_SIZE, kl };
}

function feedsFor(inputs: { name: string; shape: number[] }[]): Feeds {
  const r = rng(5);
  const feeds: Feeds = {};
  for (const { name, shape } of inputs) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (name === 'labels') feeds[name] = Int32Array.from({ length: size }, () => Math.floor(r() * C));
    else if (name === 'seed') feeds[name] = Int32Array.of(SEED);
    else if (name === 'train_size') feeds[name] = Float64Array.of(TRAIN_SIZE);
    else if (name.endsWith('.G')) feeds[name] = Float64Array.from({ length: size }, () => -3 + 2 * r());
    else feeds[name] = Float64Array.from({ length: size }, () => r() - 0.5);
  }
  return feeds;
}

describe('examples/blob.swag', () => {
  it('the loss (NLL + KL/N) and its gradients equal a plain TypeScript ELBO with the same noise draws', () => {
    const r = lowerProgram(program(), { kind: 'finetune', name: 'MlpBlob', dims: { features: F, hidden: H, classes: C, n: N } });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const g = r.network!.training!;
    expect(r.network!.trainingSeed && r.network!.trainingTrainSize).toBe(true);
    const inputs = g.inputs.map((i) => ({ name: i.name, shape: g.nodes[i.node]!.shape as number[] }));
    const feeds = feedsFor(inputs);
    const got = evaluate(g, feeds, { normal: philoxNormal });
    const want = elbo(feeds);
    expect(Math.abs(got.loss![0]! - want.loss)).toBeLessThan(1e-12 * Math.abs(want.loss));
    expect(Math.abs(got.penalty![0]! - want.kl)).toBeLessThan(1e-12 * Math.abs(want.kl));
    const h = 1e-6;
    for (const t of r.network!.theta.entries) {
      const x = feeds[t.path] as Float64Array;
      const grad = got[`grad.${t.path}`]!;
      const scale = Math.max(1e-3, ...Array.from(grad, Math.abs));
      for (let i = 0; i < x.length; i++) {
        const keep = x[i]!;
        x[i] = keep + h;
        const up = elbo(feeds).loss;
        x[i] = keep - h;
        const down = elbo(feeds).loss;
        x[i] = keep;
        expect(Math.abs(grad[i]! - (up - down) / (2 * h)), `${t.path}[${i}]`).toBeLessThan(1e-6 * scale);
      }
    }
  });

  it('the KL penalty is the KL integrated numerically, and its gradient is finite differences of it', () => {
    const r = lowerProgram(program(), { kind: 'adapter', name: 'BLoB', linear: { out: 3, in: 5 }, dims: { r: R, n: 1 }, loss: { kind: 'dot' } });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const g = r.network!.training!;
    const feeds = feedsFor(g.inputs.map((i) => ({ name: i.name, shape: g.nodes[i.node]!.shape as number[] })));
    feeds.cotangent = new Float64Array(3); // no data term: loss = KL / N
    const got = evaluate(g, feeds, { normal: philoxNormal });
    const [M, G] = [feeds.M as Float64Array, feeds.G as Float64Array];
    // ∫ q log(q / p) on a grid of ±12 σ around the mean (Simpson's rule), summed over the entries.
    let integrated = 0;
    M.forEach((m, i) => {
      const s = softplus(G[i]!);
      const logq = (a: number) => -0.5 * ((a - m) / s) ** 2 - Math.log(s * Math.sqrt(2 * Math.PI));
      const logp = (a: number) => -0.5 * (a / PRIOR) ** 2 - Math.log(PRIOR * Math.sqrt(2 * Math.PI));
      const steps = 4000;
      const [lo, hi] = [m - 12 * s, m + 12 * s];
      const dx = (hi - lo) / steps;
      for (let k = 0; k <= steps; k++) {
        const a = lo + k * dx;
        const w = k === 0 || k === steps ? 1 : k % 2 ? 4 : 2;
        integrated += (w * dx * Math.exp(logq(a)) * (logq(a) - logp(a))) / 3;
      }
    });
    expect(Math.abs(got.penalty![0]! - integrated)).toBeLessThan(1e-6 * Math.abs(integrated));
    expect(Math.abs(got.loss![0]! - integrated / TRAIN_SIZE)).toBeLessThan(1e-6 * Math.abs(integrated / TRAIN_SIZE));
    const h = 1e-6;
    for (const name of ['M', 'G']) {
      const x = feeds[name] as Float64Array;
      for (let i = 0; i < x.length; i++) {
        const keep = x[i]!;
        x[i] = keep + h;
        const up = evaluate(g, feeds, { normal: philoxNormal }).penalty![0]!;
        x[i] = keep - h;
        const down = evaluate(g, feeds, { normal: philoxNormal }).penalty![0]!;
        x[i] = keep;
        const fd = (up - down) / (2 * h) / TRAIN_SIZE;
        expect(Math.abs(got[`grad.${name}`]![i]! - fd), `${name}[${i}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
      }
    }
    expect(Array.from(got['grad.B']!).every((v) => v === 0)).toBe(true); // B is outside the KL
  });

  it('the device draws the noise the CPU twin draws, on odd sizes', async () => {
    const source = `model Noise(a: dim, b: dim) {
  fn forward(x: [a, b]) -> [a, b] {
    return x + normal([a, b])
  }
}`;
    const checked = checkSource(source, 'noise.swag');
    expect(checked.diagnostics).toEqual([]);
    const r = lowerProgram(checked.program, { kind: 'model', name: 'Noise', dims: { a: 37, b: 13 }, loss: 'none', forwardDropout: true });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const g = r.network!.forward;
    expect(r.network!.forwardSeed).toBe(true);
    const device = await testDevice();
    const program = compileProgram(g, deviceOptions(device));
    let equal = 0;
    let total = 0;
    let worst = 0;
    let worstUlps = 0;
    const ulp = (v: number) => {
      const e = Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -126)));
      return 2 ** (e - 23);
    };
    for (const seed of [7, 2 ** 31 - 3, -11]) {
      const feeds = { x: new Float64Array(37 * 13), seed: Int32Array.of(seed) };
      const got = (await runProgram(device, program, feeds)).y!;
      const want = evaluate(g, feeds, { normal: philoxNormal }).y!;
      for (let i = 0; i < got.length; i++) {
        const w = Math.fround(want[i]!);
        total++;
        if (got[i] === w) equal++;
        worst = Math.max(worst, Math.abs(got[i]! - w));
        worstUlps = Math.max(worstUlps, Math.abs(got[i]! - w) / ulp(w));
      }
    }
    // The Philox words are bit-exact; the f32 Box–Muller (log, sin, cos on the device) may round
    // a last bit differently from f64 Math: measured, not assumed.
    console.log(`noise draws: ${equal} of ${total} bit-equal to the CPU twin, worst ${worstUlps} ulps (absolute ${worst.toExponential(2)})`);
    // cos and sin of an f32 angle near their zeros: the angle's own rounding (2π·u, ulp ~5e-7)
    // times the radius (< 6) bounds the difference, whatever the value's size.
    expect(worst).toBeLessThan(2e-6);
  });

  it('a short training run lowers the loss; where no data reach A, the KL moves q(A) toward the prior', async () => {
    const { frozen, x, labels } = task();
    for (let i = 0; i < x.length; i += 8) x[i] = 0; // feature 0 is always 0: column 0 of A sees no data
    const source = `${readFileSync(PATH, 'utf8').split('\n').filter((l) => !l.startsWith('import')).join('\n').replace(/\/\/ The MLP classifier[\s\S]*$/, '')}
${NET_MODEL}
finetune NetBlob = Net(classes: 3) {
  adapt "fc1" with BLoB(r: 2, alpha: 4)
}
`;
    const device = await testDevice();
    const net = await Network.compile(device, { source, file: 'net_blob.swag', entry: 'NetBlob', dims: { n: 16 }, batchDim: 'n', weights: frozen });
    try {
      const before = await net.readParameters();
      const features = await featuresOf(net, x);
      const result = await trainRun(net, features, labels, { seed: 3, epochs: 4, lr: 0.02, warmupSteps: 2, weightDecay: 0 });
      const after = await net.readParameters();
      expect(result.epochLoss[result.epochLoss.length - 1]!).toBeLessThan(result.epochLoss[0]!);
      const column0 = (v: Float32Array) => [0, 1].map((k) => v[k * 8]!);
      const sigma = (v: Float32Array) => column0(v).map(softplus);
      const [g0, g1] = [before.get('fc1.G')!, after.get('fc1.G')!];
      const [m0, m1] = [before.get('fc1.M')!, after.get('fc1.M')!];
      console.log(`column 0: sigma ${sigma(g0).map((s) => s.toExponential(2))} → ${sigma(g1).map((s) => s.toExponential(2))}, |M| ${column0(m0).map((m) => Math.abs(m).toFixed(4))} → ${column0(m1).map((m) => Math.abs(m).toFixed(4))}; epoch losses ${result.epochLoss.map((l) => l.toFixed(4))}`);
      sigma(g1).forEach((s, k) => {
        expect(s).toBeGreaterThan(sigma(g0)[k]!);
        expect(s).toBeLessThan(PRIOR);
      });
      column0(m1).forEach((m, k) => expect(Math.abs(m)).toBeLessThan(Math.abs(column0(m0)[k]!)));
    } finally {
      net.destroy();
    }
  });
});
