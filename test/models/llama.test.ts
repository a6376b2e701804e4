/**
 * examples/llama.swag on a tiny random Llama checkpoint in Hugging Face's layout (config.json with
 * HF's field names, model.safetensors with HF's tensor names), loaded through io/baseWeights.ts
 * with examples/llama.hf.json, at odd sizes (hidden 24, 3 query heads sharing 1 key/value head,
 * MLP 19, vocab 37, t 5, 2 layers). The `.swag` forward, run by the IR interpreter, matches a
 * plain TypeScript reference of modeling_llama.py's equations written on the HF-named tensors
 * (RMSNorm, RoPE with rotate_half, grouped-query attention under the causal and padding masks,
 * SwiGLU, final norm, last-real-token pooling); the device matches the interpreter; a padding
 * token's id changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, type Feed } from '../../compiler/ir/index.ts';
import { philoxDropoutUniform, philoxNormal } from '../../compiler/codegen/wgsl/dropout.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError } from '../helpers/random.ts';
import { deviceOptions, runProgram } from '../program/run.ts';
import { type HfTensor, compileEntry, forwardOut, linear, loadFrozen, maskedSoftmax, randomTensor, relError, renameTable, writeCheckpoint } from './hfCheckpoint.ts';

const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 37,
  hidden_size: 24,
  intermediate_size: 19,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  num_key_value_heads: 1,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  hidden_act: 'silu',
  pad_token_id: 0,
  tie_word_embeddings: false,
  attention_bias: false,
  mlp_bias: false,
};
const B = 3;
const T = 5;
const CLASSES = 3;
const LETTERS = [7, 30, 2, 19];
const FILE = 'examples/llama.swag';

/** The .swag sizes from config.json, as a user of the example reads them. */
function dimsOf(c: typeof CONFIG): Record<string, number> {
  return { vocab: c.vocab_size, d: c.hidden_size, h: c.num_attention_heads, kv: c.num_key_value_heads, f: c.intermediate_size, b: B, t: T };
}

/** A random checkpoint with HF's names (LlamaForCausalLM's, plus score.weight a classifier would have). */
function checkpoint(c: typeof CONFIG): Record<string, HfTensor> {
  const d = c.hidden_size;
  const dh = d / c.num_attention_heads;
  const w: Record<string, HfTensor> = {};
  let seed = 100;
  const add = (name: string, shape: number[], scale: number, offset = 0) => {
    const t = randomTensor(shape, seed++, scale);
    if (offset) for (let i = 0; i < t.data.length; i++) t.data[i]! += offset;
    w[name] = t;
  };
  add('model.embed_tokens.weight', [c.vocab_size, d], 1);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    add(`${p}.input_layernorm.weight`, [d], 0.3, 1);
    add(`${p}.self_attn.q_proj.weight`, [c.num_attention_heads * dh, d], 0.4);
    add(`${p}.self_attn.k_proj.weight`, [c.num_key_value_heads * dh, d], 0.4);
    add(`${p}.self_attn.v_proj.weight`, [c.num_key_value_heads * dh, d], 0.4);
    add(`${p}.self_attn.o_proj.weight`, [d, c.num_attention_heads * dh], 0.3);
    add(`${p}.post_attention_layernorm.weight`, [d], 0.3, 1);
    add(`${p}.mlp.gate_proj.weight`, [c.intermediate_size, d], 0.4);
    add(`${p}.mlp.up_proj.weight`, [c.intermediate_size, d], 0.4);
    add(`${p}.mlp.down_proj.weight`, [d, c.intermediate_size], 0.3);
  }
  add('model.norm.weight', [d], 0.3, 1);
  add('lm_head.weight', [c.vocab_size, d], 0.3);
  return w;
}

/** modeling_llama.py's LlamaModel + last-real-token pooling, on HF-named tensors: [b, d] at each row's last token. */
function referenceHidden(c: typeof CONFIG, w: Record<string, HfTensor>, ids: Int32Array, mask: Float32Array): Float64Array {
  const d = c.hidden_size;
  const h = c.num_attention_heads;
  const kv = c.num_key_value_heads;
  const dh = d / h;
  const half = dh / 2;
  const group = h / kv;
  const rms = (x: Float64Array, weight: HfTensor): Float64Array => {
    const y = new Float64Array(x.length);
    for (let i = 0; i < T; i++) {
      let ss = 0;
      for (let k = 0; k < d; k++) ss += x[i * d + k]! ** 2;
      const r = 1 / Math.sqrt(ss / d + c.rms_norm_eps);
      for (let k = 0; k < d; k++) y[i * d + k] = x[i * d + k]! * r * weight.data[k]!;
    }
    return y;
  };
  // apply_rotary_pos_emb with rotate_half, per head of dh, in place on [t, heads * dh].
  const rope = (x: Float64Array, heads: number) => {
    for (let p = 0; p < T; p++) {
      for (let j = 0; j < heads; j++) {
        const o = p * heads * dh + j * dh;
        for (let i = 0; i < half; i++) {
          const angle = p * c.rope_theta ** ((-2 * i) / dh);
          const [x1, x2] = [x[o + i]!, x[o + i + half]!];
          x[o + i] = x1 * Math.cos(angle) - x2 * Math.sin(angle);
          x[o + i + half] = x2 * Math.cos(angle) + x1 * Math.sin(angle);
        }
      }
    }
  };
  const out = new Float64Array(B * d);
  for (let row = 0; row < B; row++) {
    const m = (j: number) => mask[row * T + j]! !== 0;
    let x: Float64Array = new Float64Array(T * d);
    for (let i = 0; i < T; i++) x.set(w['model.embed_tokens.weight']!.data.subarray(ids[row * T + i]! * d, (ids[row * T + i]! + 1) * d), i * d);
    for (let layer = 0; layer < c.num_hidden_layers; layer++) {
      const p = (n: string) => w[`model.layers.${layer}.${n}`]!;
      const y = rms(x, p('input_layernorm.weight'));
      const q = linear(y, T, p('self_attn.q_proj.weight'));
      const k = linear(y, T, p('self_attn.k_proj.weight'));
      const v = linear(y, T, p('self_attn.v_proj.weight'));
      rope(q, h);
      rope(k, kv);
      const context = new Float64Array(T * h * dh);
      for (let j = 0; j < h; j++) {
        const kh = Math.floor(j / group); // repeat_kv
        for (let i = 0; i < T; i++) {
          const scores = new Float64Array(T);
          for (let l = 0; l < T; l++) {
            let s = 0;
            for (let e = 0; e < dh; e++) s += q[i * h * dh + j * dh + e]! * k[l * kv * dh + kh * dh + e]!;
            scores[l] = s / Math.sqrt(dh);
          }
          const probs = maskedSoftmax(scores, (l) => l <= i && m(l));
          for (let e = 0; e < dh; e++) {
            let s = 0;
            for (let l = 0; l < T; l++) s += probs[l]! * v[l * kv * dh + kh * dh + e]!;
            context[i * h * dh + j * dh + e] = s;
          }
        }
      }
      const attn = linear(context, T, p('self_attn.o_proj.weight'));
      x = x.map((xi, i) => xi + attn[i]!);
      const z = rms(x, p('post_attention_layernorm.weight'));
      const gate = linear(z, T, p('mlp.gate_proj.weight'));
      const up = linear(z, T, p('mlp.up_proj.weight'));
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      const down = linear(act, T, p('mlp.down_proj.weight'));
      x = x.map((xi, i) => xi + down[i]!);
    }
    const normed = rms(x, w['model.norm.weight']!);
    let last = 0;
    for (let i = 0; i < T; i++) if (m(i)) last = i; // argmax(arange(t) · non_pad_mask)
    out.set(normed.subarray(last * d, (last + 1) * d), row * d);
  }
  return out;
}

/** Token ids (pad 0 after each row's length) and the attention mask; rows of lengths 5, 3 and 1. */
function batch(seed: number): { ids: Int32Array; mask: Float32Array } {
  const lengths = [5, 3, 1];
  const ids = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  for (let row = 0; row < B; row++) {
    for (let i = 0; i < lengths[row]!; i++) {
      ids[row * T + i] = 1 + ((seed * 7 + row * 11 + i * 5) % (CONFIG.vocab_size - 1));
      mask[row * T + i] = 1;
    }
  }
  return { ids, mask };
}

describe('Llama in swaglet (examples/llama.swag)', () => {
  const weights = checkpoint(CONFIG);
  let file = '';
  let remove = () => {};
  beforeAll(async () => {
    const written = await writeCheckpoint(CONFIG, weights);
    file = written.file;
    remove = written.remove;
  });
  afterAll(() => remove());

  it('sequence classifier: the .swag forward on the loaded checkpoint matches the TypeScript reference; padding ids change nothing', async () => {
    const unit = compileEntry(FILE, 'LlamaClassifier2', { ...dimsOf(CONFIG), classes: CLASSES });
    // A classifier has no use for the language-model head: drop it on purpose.
    const frozen = await loadFrozen(unit, file, { ...renameTable('examples/llama.hf.json'), 'lm_head.weight': [] });
    expect(Object.keys(frozen)).toHaveLength(1 + 9 * CONFIG.num_hidden_layers + 1);
    const score = randomTensor([CLASSES, CONFIG.hidden_size], 9, 0.5);
    const { ids, mask } = batch(1);
    const feeds: Record<string, Feed> = { ...frozen, 'score.weight': Float64Array.from(score.data), ids, mask };
    const got = forwardOut(unit.network!.forward, feeds);

    const hidden = referenceHidden(CONFIG, weights, ids, mask);
    const want = linear(hidden, B, score);
    const err = relError(got, want);
    console.log(`Llama classifier vs TS reference: rel err ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);

    // Another id at every padding position: the same scores, to the bit.
    const repadded = Int32Array.from(ids, (id, i) => (mask[i] ? id : 1 + (i % 30)));
    const again = forwardOut(unit.network!.forward, { ...feeds, ids: repadded });
    expect(Array.from(again)).toEqual(Array.from(got));
  });

  it('multiple choice: the logits of the answer letters at the last token are the LM logits of those tokens', async () => {
    const unit = compileEntry(FILE, 'LlamaChoice2', { ...dimsOf(CONFIG), choices: LETTERS.length });
    const frozen = await loadFrozen(unit, file, renameTable('examples/llama.hf.json'));
    const { ids, mask } = batch(2);
    // Every row reads its own letter ids (rotated by the row here, so a mix-up of rows shows).
    const c = LETTERS.length;
    const letterOf = (row: number, k: number) => LETTERS[(k + row) % c]!;
    const letters = Int32Array.from({ length: B * c }, (_, i) => letterOf(Math.floor(i / c), i % c));
    const zero = new Float64Array(c * CONFIG.hidden_size);
    const got = forwardOut(unit.network!.forward, { ...frozen, 'head.delta': zero, ids, mask, letters });

    // LlamaForCausalLM's logits at the last real token, columns of the letters.
    const lm = linear(referenceHidden(CONFIG, weights, ids, mask), B, weights['lm_head.weight']!);
    const want = Float64Array.from({ length: B * c }, (_, i) => lm[Math.floor(i / c) * CONFIG.vocab_size + letterOf(Math.floor(i / c), i % c)]!);
    const err = relError(got, want);
    console.log(`Llama letter logits vs TS reference: rel err ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
  });

  it('the LoRA+SWAG finetune (q and v of every layer) runs on the device as the interpreter computes it', async () => {
    const device = await testDevice();
    const unit = compileEntry(FILE, 'LlamaChoiceSwag2', { ...dimsOf(CONFIG), choices: LETTERS.length, K: 5 }, deviceOptions(device));
    expect(unit.network!.attachments.map((a) => a.layer)).toEqual(['layers.0.attn.q', 'layers.1.attn.q', 'layers.0.attn.v', 'layers.1.attn.v']);
    expect(unit.network!.theta.entries.map((e) => e.path).at(-1)).toBe('head.delta');
    const frozen = await loadFrozen(unit, file, renameTable('examples/llama.hf.json'));
    const { ids, mask } = batch(3);
    const feeds: Record<string, Feed> = { ...frozen, ids, mask, letters: Int32Array.from({ length: B * LETTERS.length }, (_, i) => LETTERS[i % LETTERS.length]!), labels: Int32Array.from([0, 3, 1]), seed: Int32Array.from([17]) };
    // Nonzero adapters (B starts at zero) so the low-rank path is exercised.
    for (const t of unit.network!.tensors.filter((t) => t.role === 'param')) {
      feeds[t.path] = Float64Array.from(randomTensor([...t.shape], t.path.length * 13, 0.2).data);
    }
    for (const method of ['forward', 'backward'] as const) {
      const graph = unit.graphs[method]!;
      const needed = Object.fromEntries(graph.inputs.map((i) => [i.name, feeds[i.name]!]));
      const want = evaluate(graph, needed, { dropoutUniform: philoxDropoutUniform, normal: philoxNormal });
      const got = await runProgram(device, unit.methods[method]!, needed);
      for (const name of Object.keys(want)) expect(maxRelError(got[name]!, want[name]!), `${method} → ${name}`).toBeLessThan(2e-4);
    }
  }, 120_000);
});
