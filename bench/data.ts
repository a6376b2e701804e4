/**
 * The bring-your-own-data path on the CPU (the device is not used):
 *
 * - `data.read.{jsonl,csv,parquet}`: rows per second of readTable on a generated file of 20,000
 *   IMDB reviews with a string label (the same rows in each format; Parquet with hyparquet-writer's
 *   default snappy), median of 3 reads.
 * - `data.tokenizer.*`: texts and tokens per second encoding 2,000 reviews with a tokenizer.json
 *   (a Unigram model over USE-Lite's own 8,000-piece vocabulary, run by @huggingface/tokenizers),
 *   and with USE-Lite's SentencePiece on the same vocabulary for comparison.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { loadImdb } from '../data/imdb.ts';
import { readTable } from '../data/table.ts';
import { type TextTokenizer, useTextTokenizer } from '../data/textTokenizer.ts';
import { tokenizerFromJson } from '../data/tokenizerJson.ts';
import { loadUseVocabulary } from '../data/tokenizer.ts';
import type { BenchResult } from './result.ts';

const ROWS = 20_000;
const ENCODE_TEXTS = 2_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const csvField = (s: string): string => `"${s.replaceAll('"', '""')}"`;

/** USE-Lite's vocabulary as a Hugging Face Unigram tokenizer.json. */
function useVocabularyAsTokenizerJson(): unknown {
  return {
    added_tokens: [],
    normalizer: { type: 'NFKC' },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false },
    post_processor: null,
    decoder: null,
    model: { type: 'Unigram', unk_id: 0, vocab: loadUseVocabulary().map(([piece, score]) => [piece, score ?? 0]) },
  };
}

function encodeRate(name: string, tokenizer: TextTokenizer, texts: readonly string[]): BenchResult[] {
  tokenizer.encode(texts[0]!); // warm up
  const times: number[] = [];
  let tokens = 0;
  for (let round = 0; round < 3; round++) {
    tokens = 0;
    const t0 = performance.now();
    for (const text of texts) tokens += tokenizer.encode(text).length;
    times.push(performance.now() - t0);
  }
  const seconds = median(times) / 1000;
  return [
    { name: `data.tokenizer.${name}.texts`, value: texts.length / seconds, unit: 'texts/s' },
    { name: `data.tokenizer.${name}.tokens`, value: tokens / seconds, unit: 'tokens/s' },
  ];
}

export async function benchData(): Promise<BenchResult[]> {
  const reviews = loadImdb();
  const rows = Array.from({ length: ROWS }, (_, i) => reviews[i % reviews.length]!);
  const texts = rows.map((r) => r.text);
  const labels = rows.map((r) => (r.label === 1 ? 'pos' : 'neg'));
  const dir = mkdtempSync(join(tmpdir(), 'swaglet-bench-data-'));
  const results: BenchResult[] = [];
  try {
    const files = {
      jsonl: join(dir, 'reviews.jsonl'),
      csv: join(dir, 'reviews.csv'),
      parquet: join(dir, 'reviews.parquet'),
    };
    writeFileSync(files.jsonl, texts.map((text, i) => JSON.stringify({ text, label: labels[i] })).join('\n'));
    writeFileSync(files.csv, `text,label\n${texts.map((text, i) => `${csvField(text)},${labels[i]}`).join('\n')}\n`);
    writeFileSync(files.parquet, new Uint8Array(parquetWriteBuffer({
      columnData: [{ name: 'text', data: texts, type: 'STRING' }, { name: 'label', data: labels, type: 'STRING' }],
    })));
    for (const [format, path] of Object.entries(files)) {
      const times: number[] = [];
      for (let round = 0; round < 3; round++) {
        const t0 = performance.now();
        const table = await readTable(path);
        if (table.rowCount !== ROWS) throw new Error(`${path}: read ${table.rowCount} rows, wrote ${ROWS}`);
        times.push(performance.now() - t0);
      }
      results.push({ name: `data.read.${format}`, value: ROWS / (median(times) / 1000), unit: 'rows/s' });
      results.push({ name: `data.read.${format}.size`, value: statSync(path).size / 2 ** 20, unit: 'MiB' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const sample = texts.slice(0, ENCODE_TEXTS);
  results.push(...encodeRate('unigram-json', tokenizerFromJson(useVocabularyAsTokenizerJson(), 'USE-Lite vocab as tokenizer.json'), sample));
  results.push(...encodeRate('use-sentencepiece', useTextTokenizer(), sample));
  return results;
}
