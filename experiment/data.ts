/**
 * What the network reads per example, from a split: token ids and a mask (text, through the
 * configured tokenizer) or a feature matrix (tabular data), matched to the finetune's data inputs
 * by type and size.
 *
 * A multiple-choice model reads, besides the prompt's ids and mask, its answer letters' token ids
 * as an i32 input named `letters` with one row of `choices` ids per example (`letters: i32[b,
 * choices]`; the same ids on every row): the paper's head trimmed to those tokens.
 */
import { packTokenized } from '../data/batch.ts';
import { ANSWER_LETTERS, answerTokenIds } from '../data/multipleChoice.ts';
import { loadTokenizerJson } from '../data/tokenizerJson.ts';
import { type TextTokenizer, useTextTokenizer } from '../data/textTokenizer.ts';
import { FeatureTable } from '../train/features.ts';
import type { FeatureSpec } from '../train/network.ts';
import { ConfigError, type ModelConfig } from './config.ts';
import type { DataConfig, Split } from './dataSources.ts';

export type { ExperimentData, Split } from './dataSources.ts';

/** The configured tokenizer: USE-Lite's own SentencePiece (`use-lite`) or a `tokenizer.json`. */
export async function loadTokenizer(model: ModelConfig): Promise<TextTokenizer | undefined> {
  if (model.tokenizer === null) return undefined;
  if (model.tokenizer === 'use-lite') return useTextTokenizer();
  return loadTokenizerJson(model.tokenizer);
}

const describe = (specs: readonly FeatureSpec[]) => specs.map((s) => `${s.name} ${s.dtype}[${s.rowShape.join(', ')}]`).join(', ');

/** The data input a multiple-choice model reads its answer letters' token ids from. */
export const LETTERS_INPUT = 'letters';

/**
 * Multiple choice: the token id of each answer letter A, B, … (`choiceCount` of them) under the
 * tokenizer, " A" rather than "A" with `data.letterSpace`; undefined for any other task. A letter
 * that is not one token, or two letters that are the same token (the unknown token), is an error
 * naming them.
 */
export function answerLetterIds(data: DataConfig, tokenizer: TextTokenizer | undefined, choiceCount: number): Int32Array | undefined {
  if (data.task !== 'multiple-choice') return undefined;
  if (!tokenizer) throw new ConfigError(`multiple choice reads texts, but 'model.tokenizer' names no tokenizer (a tokenizer.json)`);
  const ids = answerTokenIds(tokenizer, choiceCount, { leadingSpace: data.letterSpace ?? false });
  const seen = new Map<number, number>();
  ids.forEach((id, c) => {
    const other = seen.get(id);
    if (other !== undefined) {
      const letter = (k: number) => JSON.stringify(`${data.letterSpace ? ' ' : ''}${ANSWER_LETTERS[k]}`);
      throw new ConfigError(`${tokenizer.source}: answer letters ${letter(other)} and ${letter(c)} are both token ${id} (a letter missing from the vocabulary becomes the unknown token): the head needs a token of its own per letter`);
    }
    seen.set(id, c);
  });
  return ids;
}

/**
 * The split's rows in the layout of the network's data inputs. `letters` (multiple choice, from
 * `answerLetterIds`) fills the input named `letters` on every row.
 */
export function inputTable(split: Split, specs: readonly FeatureSpec[], tokenizer: TextTokenizer | undefined, maxTokens: number, letters?: Int32Array): FeatureTable {
  const n = split.labels.length;
  if (split.texts) {
    const letterSpec = specs.find((s) => s.name === LETTERS_INPUT);
    const textSpecs = specs.filter((s) => s !== letterSpec);
    const ids = textSpecs.find((s) => s.dtype === 'i32');
    const mask = textSpecs.find((s) => s.dtype === 'f32');
    if (letters) {
      if (!letterSpec || letterSpec.dtype !== 'i32') {
        throw new ConfigError(`${split.source}: the task is multiple choice, so the network must read its answer letters' token ids as an i32 input named '${LETTERS_INPUT}' ([b, choices]) besides token ids and a mask; it reads ${describe(specs)}`);
      }
      if (letterSpec.rowSize !== letters.length) throw new ConfigError(`${split.source}: the network reads ${letterSpec.rowSize} letter ids per example ('${LETTERS_INPUT}' [${letterSpec.rowShape.join(', ')}]), the data have ${letters.length} choices`);
    } else if (letterSpec) {
      throw new ConfigError(`${split.source}: the network reads answer letters ('${LETTERS_INPUT}'), which only a multiple-choice task gives ('data.task': "multiple-choice")`);
    }
    if (!ids || !mask || textSpecs.length !== 2) throw new ConfigError(`${split.source}: the data are texts, so the network must read token ids (i32) and a mask (f32)${letters ? ` and '${LETTERS_INPUT}'` : ''}; it reads ${describe(specs)}`);
    if (ids.rowSize !== maxTokens) throw new ConfigError(`the network was compiled for ${ids.rowSize} tokens, 'model.maxTokens' says ${maxTokens}`);
    if (!tokenizer) throw new ConfigError(`${split.source}: the data are texts, but 'model.tokenizer' names no tokenizer (use-lite, or a tokenizer.json)`);
    const rows = split.texts.map((text) => tokenizer.encode(text, { maxTokens }));
    const batch = packTokenized(rows, maxTokens, tokenizer.padId);
    const columns = new Map<string, Int32Array | Float32Array>([[ids.name, batch.ids], [mask.name, batch.mask]]);
    if (letters) {
      const column = new Int32Array(n * letters.length);
      for (let i = 0; i < n; i++) column.set(letters, i * letters.length);
      columns.set(letterSpec!.name, column);
    }
    return new FeatureTable(specs, n, columns);
  }
  const k = split.featureCount!;
  if (specs.length !== 1 || specs[0]!.dtype !== 'f32' || specs[0]!.rowSize !== k) {
    throw new ConfigError(`${split.source}: the data have ${k} numeric features per row, so the network must read one f32 input of ${k} values per example; it reads ${describe(specs)}`);
  }
  return new FeatureTable(specs, n, new Map([[specs[0]!.name, split.features!]]));
}
