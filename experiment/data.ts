/**
 * What the network reads per example, from a split: token ids and a mask (text, through the
 * configured tokenizer) or a feature matrix (tabular data), matched to the finetune's data inputs
 * by type and size.
 */
import { packTokenized } from '../data/batch.ts';
import { loadTokenizerJson } from '../data/tokenizerJson.ts';
import { type TextTokenizer, useTextTokenizer } from '../data/textTokenizer.ts';
import { FeatureTable } from '../train/features.ts';
import type { FeatureSpec } from '../train/network.ts';
import { ConfigError, type ModelConfig } from './config.ts';
import type { Split } from './dataSources.ts';

export type { ExperimentData, Split } from './dataSources.ts';

/** The configured tokenizer: USE-Lite's own SentencePiece (`use-lite`) or a `tokenizer.json`. */
export async function loadTokenizer(model: ModelConfig): Promise<TextTokenizer | undefined> {
  if (model.tokenizer === null) return undefined;
  if (model.tokenizer === 'use-lite') return useTextTokenizer();
  return loadTokenizerJson(model.tokenizer);
}

const describe = (specs: readonly FeatureSpec[]) => specs.map((s) => `${s.name} ${s.dtype}[${s.rowShape.join(', ')}]`).join(', ');

/** The split's rows in the layout of the network's data inputs. */
export function inputTable(split: Split, specs: readonly FeatureSpec[], tokenizer: TextTokenizer | undefined, maxTokens: number): FeatureTable {
  const n = split.labels.length;
  if (split.texts) {
    const ids = specs.find((s) => s.dtype === 'i32');
    const mask = specs.find((s) => s.dtype === 'f32');
    if (!ids || !mask || specs.length !== 2) throw new ConfigError(`${split.source}: the data are texts, so the network must read token ids (i32) and a mask (f32); it reads ${describe(specs)}`);
    if (ids.rowSize !== maxTokens) throw new ConfigError(`the network was compiled for ${ids.rowSize} tokens, 'model.maxTokens' says ${maxTokens}`);
    if (!tokenizer) throw new ConfigError(`${split.source}: the data are texts, but 'model.tokenizer' names no tokenizer (use-lite, or a tokenizer.json)`);
    const rows = split.texts.map((text) => tokenizer.encode(text, { maxTokens }));
    const batch = packTokenized(rows, maxTokens, tokenizer.padId);
    return new FeatureTable(specs, n, new Map<string, Int32Array | Float32Array>([[ids.name, batch.ids], [mask.name, batch.mask]]));
  }
  const k = split.featureCount!;
  if (specs.length !== 1 || specs[0]!.dtype !== 'f32' || specs[0]!.rowSize !== k) {
    throw new ConfigError(`${split.source}: the data have ${k} numeric features per row, so the network must read one f32 input of ${k} values per example; it reads ${describe(specs)}`);
  }
  return new FeatureTable(specs, n, new Map([[specs[0]!.name, split.features!]]));
}
