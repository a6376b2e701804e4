/**
 * Every shipped example lowers at small sizes, every graph it yields verifies, and every node
 * carries the span of the .swag source it came from.
 */
import { describe, expect, it } from 'vitest';
import { BUILTINS, OPERATORS } from '../../compiler/index.ts';
import { type Graph, verifyGraph } from '../../compiler/ir/index.ts';
import { OP_MAPPING, type LoweredNetwork, type LoweredPosterior } from '../../compiler/lower/index.ts';
import { MLP_DIMS, USE_DIMS, example, lower } from './helpers.ts';

const ADAPTERS = [
  ['lora.swag', 'LoRA'],
  ['rslora.swag', 'RsLoRA'],
  ['dora.swag', 'DoRA'],
  ['vera.swag', 'VeRA'],
  ['lora_fa.swag', 'LoraFA'],
] as const;

function graphsOf(net?: LoweredNetwork, post?: LoweredPosterior): [string, Graph][] {
  const out: [string, Graph][] = [];
  if (net) {
    out.push(['forward', net.forward]);
    if (net.training) out.push(['training', net.training]);
    for (const t of net.tensors) if (t.init.kind === 'expr') out.push([`init ${t.path}`, t.init.graph]);
  }
  if (post) out.push(['collect', post.collect], ['sample', post.sample]);
  return out;
}

function expectSound(graphs: [string, Graph][], files: string[]): void {
  for (const [name, g] of graphs) {
    expect(() => verifyGraph(g), name).not.toThrow();
    const unspanned = g.nodes.filter((n) => !n.span).map((n) => `%${n.id} ${n.op}`);
    expect(unspanned, `${name}: nodes without a span`).toEqual([]);
    for (const n of g.nodes) expect(files, `${name} %${n.id}`).toContain(n.span!.file);
  }
}

describe('every shipped example lowers and verifies', () => {
  for (const [file, name] of ADAPTERS) {
    it(`adapter ${name} on a 5×7 linear, r = 3, n = 4`, () => {
      const { network } = lower(example(file), { kind: 'adapter', name, linear: { out: 5, in: 7 }, dims: { r: 3, n: 4 } });
      expect(network!.forward.outputs.map((o) => o.name)).toEqual(['y']);
      expect(network!.training!.outputs.map((o) => o.name)).toEqual(['y', 'loss', ...network!.theta.entries.map((e) => `grad.${e.path}`)]);
      expectSound(graphsOf(network), [`examples/${file}`]);
    });
  }

  it('finetune MlpSwag: LoRA on fc1 and fc2, SWAG over theta', () => {
    const { network, posterior } = lower(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: MLP_DIMS, posterior: { dims: { K: 3 } } });
    expect(network!.attachments.map((a) => `${a.layer}:${a.adapter}`)).toEqual(['fc1:LoRA', 'fc2:LoRA']);
    expect(posterior!.p).toBe(network!.theta.size);
    expectSound(graphsOf(network, posterior), ['examples/mlp_classifier.swag', 'examples/lora.swag', 'examples/swag.swag']);
  });

  it('finetune UseLiteSwagFull at tiny sizes: two encoder layers, seven adapted projections (q, k, v apart)', () => {
    const { network, posterior } = lower(example('use_lite_classifier.swag'), { kind: 'finetune', name: 'UseLiteSwagFull', dims: USE_DIMS, posterior: { dims: { K: 4 } } });
    expect(network!.attachments).toHaveLength(7);
    expect(network!.data.map((d) => `${d.name}:${d.dtype}[${d.shape}]`)).toEqual(['ids:i32[2,5]', 'mask:f32[2,5]']);
    expect(network!.trainingSeed).toBe(true);
    expectSound(graphsOf(network, posterior), ['examples/use_lite_classifier.swag', 'examples/lora.swag', 'examples/swag.swag']);
  });

  it('model UseLite alone (no adapters): only the head trains', () => {
    const { network } = lower(example('use_lite_classifier.swag'), { kind: 'model', name: 'UseLite', dims: USE_DIMS });
    expect(network!.theta.entries.map((e) => e.path)).toEqual(['head.weight', 'head.bias']);
    expectSound(graphsOf(network), ['examples/use_lite_classifier.swag']);
  });

  for (const [name, dims] of [['SWAG', { K: 3 }], ['DiagSWAG', {}], ['SWA', {}]] as const) {
    it(`posterior ${name} over p = 10`, () => {
      const { posterior } = lower(example('swag.swag'), { kind: 'posterior', name, p: 10, dims });
      expectSound(graphsOf(undefined, posterior), ['examples/swag.swag']);
    });
  }
});

describe('the op mapping', () => {
  it('covers every builtin op and operator', () => {
    const ops = [...[...BUILTINS.values()].filter((b) => b.kind === 'op').map((b) => b.name), ...OPERATORS.map((o) => o.op)];
    expect(ops.filter((op) => !(op in OP_MAPPING))).toEqual([]);
  });
});
