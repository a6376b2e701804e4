/**
 * `drawsForward` (compile option `draws`): a finetune's forward over D parameter draws at once,
 * built after the frozen-prefix split. Each draw's slice must equal the forward run with that
 * draw's parameters, on the interpreter and on the device, at small odd sizes.
 */
import { describe, expect, it } from 'vitest';
import { compileSwag, type CompiledUnit } from '../../compiler/compile.ts';
import { evaluate, numel, type Feed, type Graph } from '../../compiler/ir/index.ts';
import { drawsInputName, varyingNodes } from '../../compiler/passes/batchDraws.ts';
import { testDevice } from '../helpers/device.ts';
import { stackedDraws } from '../helpers/draws.ts';
import { maxRelError, rng } from '../helpers/random.ts';
import { randomFeeds } from '../ir/randomFeeds.ts';
import { deviceOptions, runProgram } from '../program/run.ts';

// Masked self-attention over a frozen embedding layer, LoRA on q and v: what the paper adapts.
const SOURCE = `
adapter LoRA(r: dim, alpha: f32 = 4, p: f32 = 0.0) on linear(W: [out, in]) {
  param A: [r, in] = kaiming_uniform(a: sqrt(5))
  param B: [out, r] = zeros
  fn forward(x: [n, in]) -> [n, out] {
    return x @ W^T + (alpha / r) * ((dropout(x, p) @ A^T) @ B^T)
  }
}

model Att(d: dim = 6, classes: dim = 3) {
  linear embed: [d, d] + bias
  frozen ln.gamma: [d]
  frozen ln.beta: [d]
  linear q: [d, d] + bias
  linear k: [d, d] + bias
  linear v: [d, d] + bias
  param head.weight: [classes, d] = normal(std: 0.3)
  param head.bias: [classes] = zeros

  fn forward(x: [b, t, d], mask: f32[b, t]) -> [b, classes] {
    let y = layer_norm(tanh(embed(x)), ln.gamma, ln.beta, eps: 1e-5)
    let keep = reshape(mask, [b, 1, t])
    let scores = where(keep, q(y) @ k(y)^T, -1e9)
    let context = softmax(scores, axis: -1) @ v(y)
    return tanh(sum(context, axis: t)) @ head.weight^T + head.bias
  }
}

finetune AttLora = Att(classes: 3) {
  adapt "q", "v" with LoRA(r: 2, p: 0.1)
}
`;

const DIMS = { b: 3, t: 5 };

function compile(draws: number, target: 'cpu' | 'gpu' = 'cpu', maxBufferBytes?: number): CompiledUnit {
  const result = compileSwag(SOURCE, 'att.swag', { dims: DIMS, target, splitFrozenPrefix: true, draws: { count: draws, ...(maxBufferBytes ? { maxBufferBytes } : {}) } });
  expect(result.diagnostics).toEqual([]);
  return result.units[0]!;
}

/** Shared feeds of the forward (cache, frozen) and D random draws of its parameters (B nonzero). */
function feeds(unit: CompiledUnit, D: number): { shared: Record<string, Feed>; draws: Record<string, Feed>[] } {
  const forward = unit.graphs.forward!;
  const r = rng(3);
  const prefix = unit.graphs.prefix!;
  const data = randomFeeds(prefix, 4, { mask: Float64Array.from({ length: DIMS.b * DIMS.t }, () => (r() < 0.75 ? 1 : 0)) });
  const cache = evaluate(prefix, data);
  const shared = { ...randomFeeds(forward, 5, cache) };
  const params = forward.inputs.filter((i) => i.role === 'param');
  const draws = Array.from({ length: D }, (_, s) => {
    const f = randomFeeds(forward, 100 + s);
    return Object.fromEntries(params.map((p) => [p.name, f[p.name]!]));
  });
  return { shared, draws };
}

const only = (g: Graph, f: Record<string, Feed>) => Object.fromEntries(g.inputs.filter((i) => f[i.name] !== undefined).map((i) => [i.name, f[i.name]!]));

describe('drawsForward', () => {
  it('is compiled after the prefix split: it reads the same cached features, one parameter input per draw', () => {
    const unit = compile(3);
    expect(unit.draws).toBe(3);
    expect(Object.keys(unit.methods)).toContain('drawsForward');
    const forward = unit.graphs.forward!.inputs.filter((i) => i.role === 'input').map((i) => i.name);
    const draws = unit.graphs.drawsForward!.inputs.filter((i) => i.role === 'input').map((i) => i.name);
    expect(draws.filter((n) => n.startsWith('cache.'))).toEqual(forward);
    expect(draws.filter((n) => n.startsWith('draws.')).sort()).toEqual(unit.network!.theta.entries.map((e) => drawsInputName(e.path)).sort());
  });

  it('gives each draw what its own forward gives (interpreter)', () => {
    const unit = compile(3);
    const { shared, draws } = feeds(unit, 3);
    const g = unit.graphs.drawsForward!;
    const got = evaluate(g, { ...only(g, shared), ...stackedDraws(unit.graphs.forward!, draws) }).y!;
    draws.forEach((d, s) => {
      const want = evaluate(unit.graphs.forward!, { ...only(unit.graphs.forward!, shared), ...d }).y!;
      expect(maxRelError(got.slice(s * want.length, (s + 1) * want.length), want), `draw ${s}`).toBeLessThan(1e-12);
    });
  });

  it('gives each draw what its own forward gives (device)', async () => {
    const device = await testDevice();
    const { target } = deviceOptions(device);
    const unit = compile(3, target);
    const { shared, draws } = feeds(unit, 3);
    const g = unit.graphs.drawsForward!;
    const got = (await runProgram(device, unit.methods.drawsForward!, { ...only(g, shared), ...stackedDraws(unit.graphs.forward!, draws) })).y!;
    for (const [s, d] of draws.entries()) {
      const one = (await runProgram(device, unit.methods.forward!, { ...only(unit.graphs.forward!, shared), ...d })).y!;
      const want = evaluate(unit.graphs.forward!, { ...only(unit.graphs.forward!, shared), ...d }).y!;
      expect(maxRelError(got.slice(s * one.length, (s + 1) * one.length), one), `draw ${s} vs its device forward`).toBeLessThan(1e-5);
      expect(maxRelError(got.slice(s * want.length, (s + 1) * want.length), want), `draw ${s} vs the interpreter`).toBeLessThan(1e-5);
    }
  });

  it('takes fewer draws per pass when they would not fit the largest binding', () => {
    const forward = compile(1).graphs.forward!;
    const varies = varyingNodes(forward);
    const largest = Math.max(...forward.nodes.filter((n) => varies[n.id]).map((n) => numel(n.shape) * 4));
    expect(compile(15, 'cpu', Math.floor(3.5 * largest)).draws).toBe(3);
    expect(compile(15, 'cpu', largest - 4).draws).toBe(1);
  });
});
