/**
 * The real USE-Lite in swaglet: `UseLiteEncoder` from examples/use_lite_classifier.swag, compiled
 * for the test device with the pretrained weights, embeds real sentences as the original
 * TensorFlow.js graph does (the model.json as shipped, run by tfjs-core + tfjs-converter 3.21 on
 * tfjs's CPU backend), tokenized by the reference tokenizer of @tensorflow-models/universal-sentence-encoder.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@tensorflow-models/universal-sentence-encoder/dist/tokenizer/index.js';
import { describe, expect, it } from 'vitest';
import { readSourceFile } from '../../cli/commands/check.ts';
import { readTfjsGraphModelSync } from '../../io/tfjs.ts';
import { USE_LITE_TIMING_RATES, loadUseLiteWeights, useLiteFrozen, useLiteModelJson, useLiteVocabJson } from '../../models/useLite.ts';
import { compile } from '../../swaglet.ts';
import { testDevice } from '../helpers/device.ts';
import { tfjsEmbed } from './tfjsReference.ts';

const SENTENCES = [
  'Hello world.',
  'The cat sat on the mat.',
  'How old are you?',
  'Stocks fell sharply on Monday after the central bank raised interest rates again.',
  'I like my phone.',
  'What is the weather like in Paris in the spring?',
  'This movie was absolutely wonderful: the acting, the music and the story all worked, and I loved every minute of it.',
  'A dull, lifeless film. The plot makes no sense, the dialogue is wooden and I nearly fell asleep halfway through. Avoid.',
  "I went in expecting a forgettable sequel, but it turned out to be funnier and smarter than the original; the last twenty minutes are pure joy, even if the middle drags a little and a couple of jokes don't land.",
  'Terrible.',
  'Not bad at all, though the ending felt rushed.',
  'Photosynthesis converts light energy into chemical energy stored in glucose.',
];

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('USE-Lite in swaglet', () => {
  it("computes the timing signal's rates as the graph stores them", () => {
    // The .swag computes 10000^(-i / (half - 1)); the graph holds the folded constant.
    const { weights } = readTfjsGraphModelSync(useLiteModelJson());
    const rates = weights.get(USE_LITE_TIMING_RATES)!;
    expect(rates.shape).toEqual([1, 128]);
    const formula = Array.from({ length: 128 }, (_, i) => Math.exp((i * -Math.log(10000)) / 127));
    for (let i = 0; i < 128; i++) expect(rates.data[i]).toBeCloseTo(formula[i]!, 6);
  });

  it('maps every pretrained weight to a frozen parameter of the shape the .swag declares', () => {
    const w = loadUseLiteWeights();
    // 29 tensors in the graph; each layer's fused qkv kernel and bias become three each.
    expect(Object.keys(w)).toHaveLength(29 - 4 + 12);
    expect(w.embed!.shape).toEqual([8002, 256]);
    for (const part of ['q', 'k', 'v']) {
      expect(w[`layers.0.attn.${part}.weight`]!.shape).toEqual([256, 256]);
      expect(w[`layers.0.attn.${part}.bias`]!.shape).toEqual([256]);
      expect(w[`layers.1.attn.${part}.weight`]!.shape).toEqual([512, 512]);
    }
    expect(w['layers.0.attn.qkv.weight']).toBeUndefined();
    // The split is by output rows: row j of k is column 512 + j of the graph's [1, 1, 512, 1536] kernel.
    const tf = readTfjsGraphModelSync(useLiteModelJson()).weights;
    const tfQkv = tf.get('module/Encoder_en/KonaTransformer/Encode/Layer_1/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0')!.data;
    for (const [part, k] of [['q', 0], ['k', 1], ['v', 2]] as const) {
      for (const [j, i] of [[0, 0], [5, 17], [511, 511]]) expect(w[`layers.1.attn.${part}.weight`]!.data[j! * 512 + i!]).toBe(tfQkv[i! * 1536 + k * 512 + j!]);
    }
    const tfBias = tf.get('module_apply_default/Encoder_en/KonaTransformer/Encode/Layer_1/TransformerLayer/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat')!.data;
    expect(Array.from(w['layers.1.attn.v.bias']!.data.slice(0, 4))).toEqual(Array.from(tfBias.slice(1024, 1028)));
    expect(w['layers.0.attn.out.weight']!.shape).toEqual([512, 256]);
    expect(w['layers.0.residual.weight']!.shape).toEqual([512, 256]);
    expect(w['layers.1.ffn.up.weight']!.shape).toEqual([1536, 512]);
    expect(w['pool.weight']!.shape).toEqual([512, 512]);
    // [out, in] is the transpose of tfjs's [in, out]: row 3 of ours is column 3 of theirs.
    const tfPool = readTfjsGraphModelSync(useLiteModelJson()).weights.get('module/Encoder_en/hidden_layers/tanh_layer_0/weights')!.data;
    for (const i of [0, 7, 511]) expect(w['pool.weight']!.data[3 * 512 + i]).toBe(tfPool[i * 512 + 3]);
  });

  it('embeds real sentences as the TensorFlow.js graph does (cosine ≥ 0.999 each)', async () => {
    const tokenizer = new Tokenizer(JSON.parse(readFileSync(useLiteVocabJson(), 'utf8')));
    const ids = SENTENCES.map((s) => tokenizer.encode(s));
    const b = ids.length;
    const t = Math.max(...ids.map((s) => s.length));
    expect(t).toBeGreaterThan(40);
    expect(t).toBeLessThanOrEqual(128); // the graph drops tokens past 128

    const reference = await tfjsEmbed(useLiteModelJson(), ids);

    const device = await testDevice();
    const file = 'examples/use_lite_classifier.swag';
    const [encoder] = await compile(readFileSync(file, 'utf8'), { device, file, readFile: readSourceFile, entries: ['UseLiteEncoder'], dims: { b, t }, weights: 'zeros' });
    try {
      const set = useLiteFrozen(encoder!);
      expect(set.sort()).toEqual(Object.keys(loadUseLiteWeights()).sort());
      const idsFeed = new Int32Array(b * t);
      const mask = new Float32Array(b * t);
      ids.forEach((row, i) => row.forEach((id, j) => {
        idsFeed[i * t + j] = id;
        mask[i * t + j] = 1;
      }));
      const out = encoder!.forward({ ids: idsFeed, mask });
      const got = Float32Array.from(await device.read(Object.values(out)[0]!));
      expect(got.length).toBe(b * 512);
      const cosines = ids.map((_, i) => cosine(got.subarray(i * 512, (i + 1) * 512), reference.embeddings.subarray(i * 512, (i + 1) * 512)));
      let maxAbs = 0;
      for (let i = 0; i < got.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i]! - reference.embeddings[i]!));
      console.log(`USE-Lite vs tfjs (${reference.backend}): b=${b} t=${t}, min cosine 1 - ${(1 - Math.min(...cosines)).toExponential(2)}, max |Δ| ${maxAbs.toExponential(2)}`);
      for (const c of cosines) expect(c).toBeGreaterThanOrEqual(0.999);
    } finally {
      encoder!.destroy();
    }
  }, 120_000);
});
