/**
 * Adapter semantics: each shipped adapter, lowered alone on a small linear and run by the IR
 * interpreter, against a reference written out with plain loops here.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, hashDropoutUniform } from '../../compiler/ir/index.ts';
import { example, matmul, network, relErr, uniform } from './helpers.ts';

const [n, out, inF, r] = [4, 5, 7, 3];
const linear = { out, in: inF };
const dims = { r, n };

const x = uniform(n * inF, 1);
const W = uniform(out * inF, 2);
const A = uniform(r * inF, 3);
const B = uniform(out * r, 4);

/** x Wᵀ + s (x Aᵀ) Bᵀ */
function loraRef(s: number, xs: ArrayLike<number> = x): Float64Array {
  const base = matmul(x, W, n, inF, out, { transB: true });
  const u = matmul(xs, A, n, inF, r, { transB: true });
  const low = matmul(u, B, n, r, out, { transB: true });
  return base.map((v, i) => v + s * low[i]!);
}

describe('adapters compute what their papers say', () => {
  it('LoRA: x Wᵀ + (α/r)(x Aᵀ)Bᵀ with α = 16 by default', () => {
    const net = network(example('lora.swag'), { kind: 'adapter', name: 'LoRA', linear, dims });
    const y = evaluate(net.forward, { x, W, A, B }).y!;
    expect(relErr(y, loraRef(16 / r))).toBeLessThan(1e-12);
  });

  it('LoRA: scalars from the request override the defaults', () => {
    const net = network(example('lora.swag'), { kind: 'adapter', name: 'LoRA', linear, dims, scalars: { alpha: 6 } });
    expect(relErr(evaluate(net.forward, { x, W, A, B }).y!, loraRef(6 / r))).toBeLessThan(1e-12);
  });

  it('rsLoRA: the scale is α/√r', () => {
    const net = network(example('rslora.swag'), { kind: 'adapter', name: 'RsLoRA', linear, dims });
    expect(relErr(evaluate(net.forward, { x, W, A, B }).y!, loraRef(16 / Math.sqrt(r)))).toBeLessThan(1e-12);
  });

  it('DoRA: magnitude m times the row-normalized direction V = W + (α/r) B A', () => {
    const m = uniform(out, 5, 0.5, 1.5);
    const net = network(example('dora.swag'), { kind: 'adapter', name: 'DoRA', linear, dims });
    const y = evaluate(net.forward, { x, W, A, B, m }).y!;
    const BA = matmul(B, A, out, r, inF);
    const V = W.map((w, i) => w + (16 / r) * BA[i]!);
    const want = new Float64Array(n * out);
    for (let o = 0; o < out; o++) {
      let norm = 0;
      for (let k = 0; k < inF; k++) norm += V[o * inF + k]! ** 2;
      norm = Math.sqrt(norm);
      for (let i = 0; i < n; i++) {
        let dot = 0;
        for (let k = 0; k < inF; k++) dot += x[i * inF + k]! * V[o * inF + k]!;
        want[i * out + o] = dot * (m[o]! / norm);
      }
    }
    expect(relErr(y, want)).toBeLessThan(1e-12);
  });

  it('VeRA: frozen A, B; trainable scaling vectors d over the rank and b over the outputs', () => {
    const d = uniform(r, 6);
    const b = uniform(out, 7);
    const net = network(example('vera.swag'), { kind: 'adapter', name: 'VeRA', linear, dims });
    expect(net.tensors.map((t) => `${t.path}:${t.role}`)).toEqual(['d:param', 'b:param', 'A:frozen', 'B:frozen', 'W:frozen']);
    const y = evaluate(net.forward, { x, W, A, B, d, b }).y!;
    const base = matmul(x, W, n, inF, out, { transB: true });
    const u = matmul(x, A, n, inF, r, { transB: true }).map((v, i) => v * d[i % r]!);
    const low = matmul(u, B, n, r, out, { transB: true });
    expect(relErr(y, base.map((v, i) => v + low[i]! * b[i % out]!))).toBeLessThan(1e-12);
  });

  it('LoRA-FA: A is frozen, so training computes a gradient for B only', () => {
    const net = network(example('lora_fa.swag'), { kind: 'adapter', name: 'LoraFA', linear, dims });
    expect(net.tensors.find((t) => t.path === 'A')!.role).toBe('frozen');
    expect(net.theta.entries.map((e) => e.path)).toEqual(['B']);
    expect(relErr(evaluate(net.forward, { x, W, A, B }).y!, loraRef(16 / r))).toBeLessThan(1e-12);
    const grads = net.training!.outputs.map((o) => o.name).filter((o) => o.startsWith('grad.'));
    expect(grads).toEqual(['grad.B']);
    expect(net.training!.inputs.find((i) => i.name === 'A')!.role).toBe('frozen');
  });
});

describe('dropout', () => {
  const p = 0.5;
  const net = network(example('lora.swag'), { kind: 'adapter', name: 'LoRA', linear, dims, scalars: { p } });

  it('is absent at inference and needs no seed there', () => {
    expect(net.forwardSeed).toBe(false);
    expect(net.forward.nodes.some((x) => x.op === 'dropout')).toBe(false);
    expect(net.forward.inputs.map((i) => i.name)).not.toContain('seed');
  });

  it('acts in training on the adapter input only, with an i32 seed input and its own stream', () => {
    expect(net.trainingSeed).toBe(true);
    const seedInput = net.training!.inputs.find((i) => i.name === 'seed')!;
    expect(net.training!.nodes[seedInput.node]!.dtype).toBe('i32');
    const drops = net.training!.nodes.filter((x) => x.op === 'dropout');
    const stream = drops[0]!.attrs.stream as number;
    const seed = 1234;
    const xs = x.map((v, i) => (hashDropoutUniform(seed, stream, i) >= p ? v / (1 - p) : 0));
    const y = evaluate(net.training!, { x, W, A, B, seed: [seed], labels: [0, 1, 2, 3] }).y!;
    expect(relErr(y, loraRef(16 / r, xs))).toBeLessThan(1e-12);
  });

  it('stays at inference when the request asks for MC dropout', () => {
    const mc = network(example('lora.swag'), { kind: 'adapter', name: 'LoRA', linear, dims, scalars: { p }, forwardDropout: true });
    expect(mc.forwardSeed).toBe(true);
    const a = evaluate(mc.forward, { x, W, A, B, seed: [1] }).y!;
    const b = evaluate(mc.forward, { x, W, A, B, seed: [2] }).y!;
    expect(relErr(a, b)).toBeGreaterThan(1e-6);
  });
});
