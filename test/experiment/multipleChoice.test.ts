/**
 * Multiple choice end to end, as the SWAG-LoRA paper runs it: a tiny random Llama checkpoint in
 * Hugging Face's layout, a tiny WordPiece tokenizer.json in which the letters A–D are single tokens,
 * and a tiny question set (JSONL training file with the choices as an array column, a Parquet test
 * file) go through the experiment API: `train` (2 runs of LlamaChoiceSwag2, MAP then SWAG
 * collection), `evaluate` (every method's row in the report) and `predict` (probabilities over the
 * four letters). The model reads the answer letters' token ids per example as its `letters` input.
 * Bad input: a letter that is not one token, and a model without a `letters` input.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabelMap } from '../../data/labels.ts';
import { loadTokenizerJson } from '../../data/tokenizerJson.ts';
import { evaluate, predict, train } from '../../experiment/api.ts';
import { ConfigError } from '../../experiment/config.ts';
import { answerLetterIds, inputTable } from '../../experiment/data.ts';
import type { Split } from '../../experiment/dataSources.ts';
import { readSafetensors } from '../../io/safetensors.ts';
import { METHODS } from '../../train/methods.ts';
import { testDevice } from '../helpers/device.ts';
import { type HfTensor, randomTensor, renameTable, writeCheckpoint } from '../models/hfCheckpoint.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-mc-'));
const removers: (() => void)[] = [];
afterAll(() => {
  for (const r of removers) r();
  rmSync(dir, { recursive: true, force: true });
});

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

// Words of the paper's prompt ("Select one of the choices that answers the following question: …
// Choices: A. … Answer:") and of the questions below; anything else is [UNK].
const THINGS = ['red', 'green', 'blue', 'cat', 'dog', 'sun', 'moon', 'tree'];
const WORDS = ['Select', 'one', 'of', 'the', 'choices', 'that', 'answers', 'following', 'question', 'Choices', 'Answer', 'Which', 'is', '?', '.', ':', 'A', 'B', 'C', 'D', ...THINGS];
const vocab: Record<string, number> = Object.fromEntries([['[PAD]', 0], ['[UNK]', 1], ['[CLS]', 2], ...WORDS.map((w, i) => [w, 3 + i] as const)]);

/** WordPiece over whitespace and punctuation, case kept, a Llama-like BOS ([CLS]) first and no end token. */
const wordPieceJson = {
  added_tokens: [special(0, '[PAD]'), special(1, '[UNK]'), special(2, '[CLS]')],
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] } },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
};

// Byte-level BPE where " A", " B", " C" are single tokens (merges "Ġ A" …) but " D" is "Ġ" then "D".
const bpeJson = {
  added_tokens: [special(0, '<s>'), special(1, '<unk>')],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false,
    vocab: { '<s>': 0, '<unk>': 1, 'Ġ': 2, A: 3, B: 4, C: 5, D: 6, 'ĠA': 7, 'ĠB': 8, 'ĠC': 9 },
    merges: ['Ġ A', 'Ġ B', 'Ġ C'],
  },
};

const LETTERS = ['A', 'B', 'C', 'D'];
const VOCAB = 3 + WORDS.length;
const LLAMA = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: VOCAB, hidden_size: 16, intermediate_size: 24,
  num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, rms_norm_eps: 1e-5, rope_theta: 10000.0,
  hidden_act: 'silu', pad_token_id: 0, tie_word_embeddings: false, attention_bias: false, mlp_bias: false,
};

/** A random LlamaForCausalLM checkpoint with HF's tensor names. */
function llamaTensors(): Record<string, HfTensor> {
  const c = LLAMA;
  const d = c.hidden_size;
  const dh = d / c.num_attention_heads;
  const w: Record<string, HfTensor> = {};
  let seed = 500;
  const add = (name: string, shape: number[], scale: number, offset = 0) => {
    const t = randomTensor(shape, seed++, scale);
    for (let i = 0; i < t.data.length; i++) t.data[i]! += offset;
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
  add('lm_head.weight', [c.vocab_size, d], 0.5);
  return w;
}

/** Question i: "Which is <thing> ?" with four things as choices, the asked one at a seeded place. */
function question(i: number): { question: string; choices: string[]; answer: string } {
  const asked = THINGS[i % THINGS.length]!;
  const others = THINGS.filter((t) => t !== asked);
  const answer = (i * 7 + Math.floor(i / 4)) % 4;
  const choices = [0, 1, 2].map((k) => others[(i + 2 * k) % others.length]!);
  choices.splice(answer, 0, asked);
  return { question: `Which is ${asked} ?`, choices, answer: LETTERS[answer]! };
}

function writeTokenizer(name: string, json: unknown): string {
  const folder = join(dir, name);
  mkdirSync(folder);
  writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(json));
  return join(folder, 'tokenizer.json');
}

let weights: string;
let checkpointTensors: Record<string, HfTensor>;
let tokenizer: string;
let badTokenizer: string;
let testFile: string;

function writeConfig(name: string, over: { tokenizer?: string; letterSpace?: boolean } = {}): string {
  const config = {
    name,
    model: {
      file: resolve('examples/llama.swag'),
      entry: 'LlamaChoiceSwag2',
      weights,
      rename: renameTable('examples/llama.hf.json'),
      tokenizer: over.tokenizer ?? tokenizer,
      maxTokens: 40,
      batch: 4,
      dims: { vocab: LLAMA.vocab_size, d: LLAMA.hidden_size, h: LLAMA.num_attention_heads, kv: LLAMA.num_key_value_heads, f: LLAMA.intermediate_size, choices: 4 },
    },
    data: {
      task: 'multiple-choice',
      train: 'train.jsonl',
      validation: 0.25,
      test: 'test.parquet',
      question: 'question',
      choices: 'choices',
      answer: 'answer',
      ...(over.letterSpace !== undefined ? { letterSpace: over.letterSpace } : {}),
      seed: 1,
    },
    // 18 training questions in batches of 4: 4 steps an epoch; SWAG collects at steps 2 and 4.
    train: { seed: 3, epochs: 2, lr: 5e-3, warmupSteps: 0, weightDecay: 0, swag: { epochs: 1, lr: 5e-3, collectEvery: 2 } },
    runs: 2,
    samples: 3,
    checkpointEvery: 100,
    out: join(dir, 'results'),
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

beforeAll(async () => {
  checkpointTensors = llamaTensors();
  const checkpoint = await writeCheckpoint(LLAMA, checkpointTensors);
  removers.push(checkpoint.remove);
  weights = checkpoint.file;
  tokenizer = writeTokenizer('wordpiece', wordPieceJson);
  badTokenizer = writeTokenizer('bpe', bpeJson);
  const train = Array.from({ length: 24 }, (_, i) => question(i));
  writeFileSync(join(dir, 'train.jsonl'), `${train.map((q) => JSON.stringify(q)).join('\n')}\n`);
  const test = Array.from({ length: 8 }, (_, i) => question(100 + i));
  testFile = join(dir, 'test.parquet');
  writeFileSync(
    testFile,
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'question', data: test.map((q) => q.question), type: 'STRING' },
          { name: 'choices', data: test.map((q) => q.choices) },
          { name: 'answer', data: test.map((q) => q.answer), type: 'STRING' },
        ],
      }),
    ),
  );
});

describe('multiple choice through the experiment API', () => {
  it('trains LlamaChoiceSwag2 on the letters, evaluates every method and predicts over A–D', async () => {
    const device = await testDevice();
    const config = writeConfig('mc');
    const log: string[] = [];
    const events = { log: (line: string) => log.push(line) };
    const runs = await train({ config, device, events });
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run.result.collected).toBe(2);
      expect(run.result.epochLoss.every(Number.isFinite)).toBe(true);
      // The trimmed head's correction moved off zero: the letters' rows are trained.
      expect(run.result.map.get('head.delta')!.some((v) => v !== 0)).toBe(true);
    }
    // The letters are the tokenizer's ids of A..D, found before compiling.
    const ids = (await loadTokenizerJson(tokenizer)).encode('A B C D', { specialTokens: false });
    expect(log).toContain(`answer letters ${LETTERS.map((l, c) => `${l} = token ${ids[c]}`).join(', ')}`);
    // The letters' rows of lm_head ([choices, d] per example) are frozen, so cached with the prefix:
    // on every row, exactly the checkpoint's rows of the letter tokens.
    expect(log.some((l) => /frozen prefix cached as .*\[4, 16\]/.test(l))).toBe(true);
    const cacheDir = join(dir, 'results', 'cache');
    const testCache = await readSafetensors(join(cacheDir, readdirSync(cacheDir).find((f) => f.startsWith('test-'))!));
    const rowsOfLetters = Object.values(testCache.tensors).filter((t) => t.shape.join() === '8,4,16');
    expect(rowsOfLetters).toHaveLength(1);
    const lmHead = checkpointTensors['lm_head.weight']!.data;
    const want = Float32Array.from({ length: 8 * 4 * 16 }, (_, i) => lmHead[ids[Math.floor(i / 16) % 4]! * 16 + (i % 16)]!);
    expect(Array.from(rowsOfLetters[0]!.data as Float32Array)).toEqual(Array.from(want));

    const report = await evaluate({ config, device, events });
    const json = JSON.parse(report.json) as { results: { method: string; split: string; metrics: Record<string, number> }[] };
    const rows = json.results.filter((r) => r.split.startsWith('in distribution'));
    expect(rows.map((r) => r.method)).toEqual([...METHODS]);
    expect(JSON.parse(readFileSync(join(dir, 'results', 'mc.json'), 'utf8'))).toEqual(json);
    for (const r of rows) {
      expect(r.metrics.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.metrics.accuracy).toBeLessThanOrEqual(1);
      expect(Number.isFinite(r.metrics.nll)).toBe(true);
    }

    const output = join(dir, 'scores.jsonl');
    const p = await predict({ config, device, events, input: testFile, output });
    expect(p.classes).toEqual(LETTERS);
    expect(p.probabilities).toHaveLength(8 * 4);
    for (let i = 0; i < 8; i++) {
      const row = Array.from(p.probabilities.subarray(i * 4, i * 4 + 4));
      expect(row.every((v) => v > 0 && v < 1)).toBe(true);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(p.predicted[i]).toBe(row.indexOf(Math.max(...row)));
    }
    const lines = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { probabilities: Record<string, number> });
    expect(lines).toHaveLength(8);
    expect(Object.keys(lines[0]!.probabilities)).toEqual(LETTERS);

    // Answers are not read: the same questions without the answer column predict the same.
    const unlabelled = join(dir, 'unlabelled.jsonl');
    writeFileSync(unlabelled, Array.from({ length: 8 }, (_, i) => JSON.stringify({ question: question(100 + i).question, choices: question(100 + i).choices })).join('\n'));
    const again = await predict({ config, device, events, input: unlabelled });
    expect(Array.from(again.probabilities)).toEqual(Array.from(p.probabilities));
  }, 120_000);

  it('a letter that is not one token is refused before compiling, naming the letter', async () => {
    const device = await testDevice();
    const config = writeConfig('bad-letter', { tokenizer: badTokenizer, letterSpace: true });
    await expect(train({ config, device })).rejects.toThrow(/answer letter " D" is 2 tokens \(ids \[2,6\]\)/);
  });

  it('a multiple-choice model must read its letters as an input named letters', async () => {
    const tok = await loadTokenizerJson(tokenizer);
    const letters = answerLetterIds({ task: 'multiple-choice' } as never, tok, 4)!;
    expect(Array.from(letters)).toEqual(LETTERS.map((l) => vocab[l]));
    const split: Split = { name: 'test', source: 'q.jsonl', rows: Int32Array.of(0), texts: ['Which is red ?'], labels: Int32Array.of(0), labelMap: LabelMap.strings(LETTERS) };
    const ids = { name: 'ids', shape: [4, 40], rowShape: [40], rowSize: 40, dtype: 'i32' as const };
    const mask = { name: 'mask', shape: [4, 40], rowShape: [40], rowSize: 40, dtype: 'f32' as const };
    expect(() => inputTable(split, [ids, mask], tok, 40, letters)).toThrow(ConfigError);
    expect(() => inputTable(split, [ids, mask], tok, 40, letters)).toThrow(/q\.jsonl: the task is multiple choice, so the network must read its answer letters' token ids as an i32 input named 'letters' .*; it reads ids i32\[40\], mask f32\[40\]/);
    // Every row gets the letters.
    const rows = inputTable(split, [ids, mask, { name: 'letters', shape: [4, 4], rowShape: [4], rowSize: 4, dtype: 'i32' }], tok, 40, letters);
    expect(Array.from(rows.columns.get('letters')!)).toEqual(Array.from(letters));
  });
});
