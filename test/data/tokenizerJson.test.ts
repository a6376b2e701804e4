import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../data/batch.ts';
import { answerTokenIds } from '../../data/multipleChoice.ts';
import { TokenizerError, useTextTokenizer } from '../../data/textTokenizer.ts';
import { loadTokenizerJson, tokenizerFromJson } from '../../data/tokenizerJson.ts';
import { SentencePieceTokenizer, type VocabularyPiece } from '../../data/tokenizer.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-tokenizer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeTokenizer(name: string, json: unknown, config?: unknown): string {
  // A folder of its own, so a tokenizer_config.json belongs to one tokenizer only.
  const folder = mkdtempSync(join(dir, `${name}-`));
  writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(json));
  if (config !== undefined) writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify(config));
  return join(folder, 'tokenizer.json');
}

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

// Byte-level BPE (GPT-2/RoBERTa style). Merges, in rank order, build "low" and "Ġlower":
//   "low"    : l o w        -> (l o) lo w -> (lo w) low
//   "Ġlower" : Ġ l o w e r  -> (l o) Ġ lo w e r -> (lo w) Ġ low e r -> (e r) Ġ low er -> (Ġ low) Ġlow er -> (Ġlow er) Ġlower
// " lo" -> Ġ l o -> (l o) Ġ lo, and stops: there is no merge "Ġ lo". "Ġ" is the byte-level space.
// "ĠA"/"ĠB" exist only through their merges "Ġ A"/"Ġ B".
const bpeVocab: Record<string, number> = {
  '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3,
  l: 4, o: 5, w: 6, e: 7, r: 8, 'Ġ': 9, lo: 10, low: 11, er: 12, 'Ġlow': 13, 'Ġlower': 14, A: 15, 'ĠA': 16, B: 17, 'ĠB': 18,
};
const bpeJson = {
  version: '1.0',
  added_tokens: [special(0, '<s>'), special(1, '<pad>'), special(2, '</s>'), special(3, '<unk>')],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
  },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false,
    byte_fallback: false, vocab: bpeVocab, merges: ['l o', 'lo w', 'e r', 'Ġ low', 'Ġlow er', 'Ġ A', 'Ġ B'],
  },
};

// BERT-style WordPiece: lower-cased, split on whitespace and punctuation, greedy longest match with "##".
//   "The unaffable!" -> the | un ##aff ##able | ! (not in the vocabulary: [UNK])
const wordPieceJson = {
  added_tokens: [special(0, '[PAD]'), special(1, '[UNK]'), special(2, '[CLS]'), special(3, '[SEP]')],
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100,
    vocab: { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, the: 4, un: 5, '##aff': 6, '##able': 7, '##a': 8, a: 9, b: 10 },
  },
};

// Unigram with Metaspace ("▁" for spaces, one prepended). "ab" -> "▁ab", best of:
//   ▁ab (-4) | ▁a + b (-1 - 2 = -3) | ▁ + ab (-2 - 2.5 = -4.5)  -> ▁a b = ids [3, 4]
// "abc": no piece holds "c", so it becomes <unk> (id 0): [3, 4, 0].
const unigramJson = {
  added_tokens: [special(0, '<unk>'), special(1, '</s>'), special(2, '<pad>')],
  normalizer: null,
  pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }],
    special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
  },
  decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  model: {
    type: 'Unigram', unk_id: 0, byte_fallback: false,
    vocab: [['<unk>', 0], ['</s>', 0], ['<pad>', 0], ['▁a', -1], ['b', -2], ['▁', -2], ['ab', -2.5], ['▁ab', -4], ['▁A', -1], ['▁B', -1]],
  },
};

describe('tokenizer.json: BPE', () => {
  it('encodes with the merges in rank order and the template specials', async () => {
    const t = await loadTokenizerJson(writeTokenizer('bpe', bpeJson));
    expect(t.kind).toBe('BPE');
    expect(t.encode('low lower')).toEqual([0, 11, 14, 2]);
    expect(t.encode('low lower', { specialTokens: false })).toEqual([11, 14]);
    expect(t.encode('lo lo')).toEqual([0, 10, 9, 10, 2]);
    expect(t.padId).toBe(1); // the <pad> token
    expect(t.vocabSize).toBe(19);
    expect(t.tokenId('Ġlower')).toBe(14);
  });

  it('truncates the text, keeping <s> and </s>', async () => {
    const t = await loadTokenizerJson(writeTokenizer('bpe', bpeJson));
    expect(t.encode('low lower low', { maxTokens: 4 })).toEqual([0, 11, 14, 2]);
    expect(t.encode('low lower low', { maxTokens: 3 })).toEqual([0, 11, 2]);
    expect(t.encode('low', { maxTokens: 10 })).toEqual([0, 11, 2]);
    expect(() => t.encode('low', { maxTokens: 1 })).toThrow(/fewer than the 2 special tokens/);
  });

  it('gives the answer letters their tokens, with or without the leading space', async () => {
    const t = await loadTokenizerJson(writeTokenizer('bpe', bpeJson));
    expect(Array.from(answerTokenIds(t, 2))).toEqual([15, 17]);
    expect(Array.from(answerTokenIds(t, 2, { leadingSpace: true }))).toEqual([16, 18]);
    // "C" is not in the vocabulary and this BPE has no unk_token: no single id.
    expect(() => answerTokenIds(t, 3)).toThrow(/answer letter "C" is 0 tokens/);
  });
});

describe('tokenizer.json: WordPiece', () => {
  it('lower-cases, splits punctuation, matches longest pieces and adds [CLS] … [SEP]', async () => {
    const t = await loadTokenizerJson(writeTokenizer('wordpiece', wordPieceJson));
    expect(t.kind).toBe('WordPiece');
    expect(t.encode('The unaffable!')).toEqual([2, 4, 5, 6, 7, 1, 3]);
    expect(t.encode('the', { specialTokens: false })).toEqual([4]);
    expect(t.padId).toBe(0);
  });

  it('truncates between [CLS] and [SEP], and pads with [PAD] in a batch', async () => {
    const t = await loadTokenizerJson(writeTokenizer('wordpiece', wordPieceJson));
    expect(t.encode('The unaffable!', { maxTokens: 4 })).toEqual([2, 4, 5, 3]);
    const batch = encodeBatch(t, ['the', 'The unaffable!'], 5);
    expect(Array.from(batch.ids)).toEqual([2, 4, 3, 0, 0, 2, 4, 5, 6, 3]);
    expect(Array.from(batch.mask)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    expect(batch.lengths).toEqual([3, 5]);
  });

  it('takes the pad id from tokenizer.json padding, then tokenizer_config.json', async () => {
    const withPadding = await loadTokenizerJson(writeTokenizer('wp-padding', { ...wordPieceJson, padding: { pad_id: 9, pad_token: 'a' } }));
    expect(withPadding.padId).toBe(9);
    const withConfig = await loadTokenizerJson(writeTokenizer('wp-config', wordPieceJson, { pad_token: 'b' }));
    expect(withConfig.padId).toBe(10);
    const batch = encodeBatch(withConfig, ['the'], 4);
    expect(Array.from(batch.ids)).toEqual([2, 4, 3, 10]);
  });
});

describe('tokenizer.json: Unigram', () => {
  it('picks the best-scoring segmentation and marks unknown characters', async () => {
    const t = await loadTokenizerJson(writeTokenizer('unigram', unigramJson));
    expect(t.kind).toBe('Unigram');
    expect(t.encode('ab', { specialTokens: false })).toEqual([3, 4]);
    expect(t.encode('ab')).toEqual([3, 4, 1]);
    expect(t.encode('abc', { specialTokens: false })).toEqual([3, 4, 0]);
    expect(t.padId).toBe(2);
    expect(Array.from(answerTokenIds(t, 2))).toEqual([8, 9]); // "A" -> "▁A"
  });
});

describe('tokenizer.json errors', () => {
  it('names the file for an unknown model type', async () => {
    const path = writeTokenizer('wordlevel', { ...wordPieceJson, model: { type: 'WordLevel', vocab: {}, unk_token: '[UNK]' } });
    await expect(loadTokenizerJson(path)).rejects.toThrow(TokenizerError);
    await expect(loadTokenizerJson(path)).rejects.toThrow(`${path}: unknown tokenizer model type "WordLevel"; supported: BPE, WordPiece, Unigram`);
  });

  it('names the file when it is missing, not JSON, or has no model', async () => {
    await expect(loadTokenizerJson(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json: cannot read the file \(ENOENT\)/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"model":');
    await expect(loadTokenizerJson(bad)).rejects.toThrow(/bad\.json: not valid JSON/);
    expect(() => tokenizerFromJson({ version: '1.0' }, 'x/tokenizer.json')).toThrow('x/tokenizer.json: no "model" object');
  });
});

describe('USE-Lite SentencePiece as a TextTokenizer', () => {
  const pieces: VocabularyPiece[] = [
    ['\uFFFD', 0], ['<s>', 0], ['</s>', 0], ['x1', 0], ['x2', 0], ['x3', 0], ['▁a', -1], ['b', -2], ['▁', -3], ['▁c', -1],
  ];

  it('encodes exactly as the SentencePiece tokenizer and keeps the first maxTokens ids', () => {
    const t = useTextTokenizer(pieces, 'test vocabulary');
    const reference = SentencePieceTokenizer.fromPieces(pieces);
    expect(t.encode('a b c')).toEqual(reference.encode('a b c'));
    expect(t.encode('a b c', { maxTokens: 2 })).toEqual([6, 8]);
    expect(t.tokenId('▁c')).toBe(9);
    expect([t.kind, t.padId, t.vocabSize]).toEqual(['use-sentencepiece', 0, 10]);
    expect(encodeBatch(t, ['a b c'], 3)).toEqual(encodeBatch(reference, ['a b c'], 3));
  });
});
