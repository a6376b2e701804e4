import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSource, evalDim, showType } from '../../compiler/index.ts';

const readFile = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
const examples = readdirSync('examples').filter((f) => f.endsWith('.swag'));

function checkExample(name: string) {
  const file = `examples/${name}`;
  return checkSource(readFileSync(file, 'utf8'), file, { readFile });
}

describe('examples', () => {
  it('ships the adapters, posteriors and models the language promises', () => {
    expect(examples.sort()).toEqual(['bert.swag', 'blob.swag', 'dora.swag', 'laplace.swag', 'llama.swag', 'lora.swag', 'lora_fa.swag', 'mlp_classifier.swag', 'rslora.swag', 'swag.swag', 'use_lite_bayes.swag', 'use_lite_classifier.swag', 'vera.swag']);
  });

  for (const f of examples) {
    it(`${f} checks clean`, () => {
      const r = checkExample(f);
      expect(r.diagnostics.map((d) => `${d.span.file}:${d.span.start.line}: ${d.message}`)).toEqual([]);
    });
  }

  it('declares the posteriors SWAG, DiagSWAG and SWA', () => {
    const r = checkExample('swag.swag');
    expect(r.program.posteriors.map((p) => [p.name, p.stats.map((s) => s.name), p.noise.map((z) => `${z.name}${showType(z.type)}`)])).toEqual([
      ['SWAG', ['mean', 'sq_mean', 'D', 'filled'], ['z1[p]', 'z2[K]']],
      ['DiagSWAG', ['mean', 'sq_mean'], ['z[p]']],
      ['SWA', ['mean'], []],
    ]);
  });

  it('lays out the MLP classifier: LoRA on both hidden layers, the head trainable', () => {
    const f = checkExample('mlp_classifier.swag').program.finetunes[0]!;
    expect(f.attachments.map((a) => a.layer)).toEqual(['fc1', 'fc2']);
    expect(f.theta.entries.map((e) => `${e.path}${showType(e.type)}`)).toEqual(['fc1.A[8, 784]', 'fc1.B[256, 8]', 'fc2.A[8, 256]', 'fc2.B[256, 8]', 'head.weight[10, 256]', 'head.bias[10]']);
    expect(evalDim(f.theta.size, {})).toBe(8 * 784 + 256 * 8 + 8 * 256 + 256 * 8 + 10 * 256 + 10);
  });

  it('expresses USE Lite: two layers of different widths, the ops of a real transformer', () => {
    const r = checkExample('use_lite_classifier.swag');
    const model = r.program.models.find((m) => m.name === 'UseLite')!;
    expect(model.flat.linears.map((l) => `${l.path}[${l.out.text}, ${l.in.text}]${l.bias ? '+b' : ''}`)).toEqual([
      'layers.0.attn.q[d1, d1]+b',
      'layers.0.attn.k[d1, d1]+b',
      'layers.0.attn.v[d1, d1]+b',
      'layers.0.attn.out[d2, d1]+b',
      'layers.0.residual[d2, d1]+b',
      'layers.0.ffn.up[f1, d2]+b',
      'layers.0.ffn.down[d2, f1]+b',
      'layers.1.attn.q[d2, d2]+b',
      'layers.1.attn.k[d2, d2]+b',
      'layers.1.attn.v[d2, d2]+b',
      'layers.1.attn.out[d2, d2]+b',
      'layers.1.ffn.up[f2, d2]+b',
      'layers.1.ffn.down[d2, f2]+b',
      'pool[d2, d2]+b',
    ]);
    const ops = new Set(r.program.ops.map((o) => o.op));
    for (const op of ['embedding', 'sin', 'cos', 'iota', 'concat', 'layer_norm', 'reshape', 'permute', 'matmul', 'transpose', 'softmax', 'where', 'relu', 'sum', 'tanh', 'l2_normalize', 'linear']) {
      expect(ops, op).toContain(op);
    }
    const [f, full, paper] = r.program.finetunes;
    // UseLiteSwag adapts the pooling layer (LoRA r = 8 on [512, 512]) and trains a 2-class head.
    expect(f!.attachments.map((a) => `${a.layer}:${a.adapter}`)).toEqual(['pool:LoRA']);
    expect(f!.posterior).toMatchObject({ name: 'SWAG', scalars: { scale: 0.5 } });
    expect(evalDim(f!.posterior!.dims.K!, {})).toBe(20);
    expect(evalDim(f!.theta.size, {})).toBe(8 * 512 + 512 * 8 + 2 * 512 + 2);
    // UseLiteSwagFull adds layer 1's attention and feed-forward projections.
    expect(full!.attachments.map((a) => a.layer)).toEqual(['layers.1.attn.q', 'layers.1.attn.k', 'layers.1.attn.v', 'layers.1.attn.out', 'layers.1.ffn.up', 'layers.1.ffn.down', 'pool']);
    const lora = (out: number, inn: number) => 8 * inn + out * 8;
    expect(evalDim(full!.theta.size, {})).toBe(3 * lora(512, 512) + lora(512, 512) + lora(1536, 512) + lora(512, 1536) + lora(512, 512) + 2 * 512 + 2);
    // UseLiteSwagPaper: SWAG-LoRA's setting, LoRA on q and v of both layers, SWAG(K: 5, scale: 1).
    expect(paper!.attachments.map((a) => `${a.layer}:${a.adapter}`)).toEqual(['layers.0.attn.q:LoRA', 'layers.1.attn.q:LoRA', 'layers.0.attn.v:LoRA', 'layers.1.attn.v:LoRA']);
    expect(paper!.posterior).toMatchObject({ name: 'SWAG', scalars: { scale: 1 } });
    expect(evalDim(paper!.posterior!.dims.K!, {})).toBe(5);
    expect(evalDim(paper!.theta.size, {})).toBe(2 * lora(256, 256) + 2 * lora(512, 512) + 2 * 512 + 2);
    const block = r.program.blocks.find((b) => b.name === 'SelfAttention')!;
    expect(block.derived).toMatchObject([{ name: 'dh', divisors: [{ text: 'h' }] }]);
  });
});
