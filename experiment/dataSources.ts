/**
 * The experiment's data from its config: every split is a file (`.jsonl`, `.csv`, `.parquet`,
 * relative to the config file) or one of the bundled sets (`bundled:imdb`,
 * `bundled:fine-foods`, `bundled:spam-assassin`), read through the same tables and task builders.
 *
 * - Splits that name the same source are carved from it disjointly, each class shuffled once
 *   with the data seed and cut in order (so each part keeps the class proportions); every such
 *   split but at most one needs a size in `data.sizes`, and the one without takes the rest.
 * - `validation` may be a fraction of the training file instead (stratified, seeded).
 * - A size for a split with a source of its own draws a stratified sample of that size.
 * - The training split decides the label map (or `data.labels` gives it); every other labelled
 *   split is mapped with it, and a label outside it is an error naming the file and row.
 * - `ood` has no labels: its label column is not read.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { columnTable } from '../data/columnTable.ts';
import { type Examples, selectExamples } from '../data/examples.ts';
import { loadFineFoods } from '../data/fineFoods.ts';
import { loadImdb } from '../data/imdb.ts';
import { LabelMap } from '../data/labels.ts';
import { multipleChoiceExamples } from '../data/multipleChoice.ts';
import { loadSpamAssassin } from '../data/spam.ts';
import { seededShuffle, validationFraction } from '../data/split.ts';
import { DataError, readTable, type Table } from '../data/table.ts';
import { classificationExamples, featureMatrix, textColumn } from '../data/tasks.ts';

export const SPLITS = ['train', 'validation', 'test', 'shift', 'ood'] as const;
export type SplitName = (typeof SPLITS)[number];

export interface DataConfig {
  /** Sources, by split: a data file (relative to the config file) or `bundled:<name>`. */
  train: string;
  /** A source, or a fraction (0, 1) of the training file. */
  validation: string | number;
  test: string;
  shift?: string;
  ood?: string;
  /** Rows per split (see above); a split without a size takes its whole source. */
  sizes?: Partial<Record<SplitName, number>>;
  task: 'classification' | 'multiple-choice';
  /** Classification: the text column, or `features` (numeric columns, or one array column), and the label column. */
  text?: string;
  features?: string | string[];
  label: string;
  /** Class names in id order; default: from the training split. */
  labels?: string[];
  /** Multiple choice: the question, the choices (an array column or a list of columns) and the answer column. */
  question?: string;
  choices?: string | string[];
  answer?: string;
  answerIndexBase?: 0 | 1;
  sentenceCase?: boolean;
  /**
   * Multiple choice: the answer letters' tokens are those of " A", " B", … (a byte-level BPE's
   * "ĠA", the token that follows "Answer:" in running text) rather than "A", "B", … encoded alone
   * (the paper's; a SentencePiece tokenizer gives "▁A"); default false.
   */
  letterSpace?: boolean;
  seed: number;
  /**
   * Which re-split of the drawn pool (default 0: as drawn). The examples a shared source gives its
   * splits stay those `seed` draws; resplit r > 0 deals them out again among those splits, each
   * class shuffled with its own seed and each split keeping its class counts. So repeats of an
   * experiment get their own train/validation/test partitions while every example's frozen
   * prefix is computed once.
   */
  resplit?: number;
}

/** One split: examples (texts or features, labels; -1 where there is none) and where they came from. */
export interface Split extends Examples {
  name: SplitName;
}

export type ExperimentData = Record<'train' | 'validation' | 'test', Split> & Partial<Record<'shift' | 'ood', Split>> & { labelMap: LabelMap };

/** A digest of a split's inputs and labels: what a cache of its features, or a run's fingerprint, depends on. */
export function splitDigest(split: Examples): string {
  const h = createHash('sha256');
  if (split.texts) for (const t of split.texts) h.update(t).update('\u0000');
  if (split.features) h.update(new Uint8Array(split.features.buffer, split.features.byteOffset, split.features.byteLength));
  h.update(new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength));
  return h.digest('hex');
}

const BUNDLED = ['imdb', 'fine-foods', 'spam-assassin'] as const;
const BUNDLED_TITLES: Record<string, string> = { 'bundled:imdb': 'IMDB', 'bundled:fine-foods': 'Amazon fine foods', 'bundled:spam-assassin': 'SpamAssassin' };

/** A source as a report names it: a bundled set's title, or the file's name. */
export const sourceTitle = (source: string): string => BUNDLED_TITLES[source] ?? source.split('/').pop()!;

/** The bundled sets as tables with columns `text` and `label` (label absent for SpamAssassin). */
function bundledTable(name: string): Table {
  const rows = (() => {
    switch (name) {
      case 'imdb':
        return loadImdb();
      case 'fine-foods': {
        const foods = loadFineFoods();
        // A few reviews appear twice (28 of 5,000); keep the first copy so no example repeats.
        const seen = new Set<string>();
        return [...foods.train, ...foods.test].filter((x) => !seen.has(x.text) && Boolean(seen.add(x.text)));
      }
      case 'spam-assassin':
        return loadSpamAssassin().map((m) => ({ text: m.text, label: -1 }));
      default:
        throw new DataError({ file: `bundled:${name}` }, `no such bundled data set; there are ${BUNDLED.map((b) => `bundled:${b}`).join(', ')}`);
    }
  })();
  const columns = new Map<string, unknown[]>([['text', rows.map((r) => r.text)]]);
  if (name !== 'spam-assassin') columns.set('label', rows.map((r) => r.label));
  return columnTable(`bundled:${name}`, columns, rows.length, (i) => `example ${i + 1}`);
}

/** Resolves a source against the config's folder (bundled names stay as they are). */
export const resolveSource = (source: string, configDir: string): string => (source.startsWith('bundled:') || isAbsolute(source) ? source : resolve(configDir, source));

function examplesOf(table: Table, config: DataConfig, labelled: boolean, labelMap: LabelMap | undefined): Examples {
  if (config.task === 'multiple-choice') {
    if (!config.question || !config.choices || !config.answer) throw new DataError({ file: table.path }, "a multiple-choice task needs 'data.question', 'data.choices' and 'data.answer'");
    return multipleChoiceExamples(table, {
      question: config.question,
      choices: config.choices,
      answer: config.answer,
      ...(config.answerIndexBase !== undefined ? { answerIndexBase: config.answerIndexBase } : {}),
      ...(config.sentenceCase !== undefined ? { sentenceCase: config.sentenceCase } : {}),
    });
  }
  const input = config.features !== undefined ? { features: config.features } : { text: config.text ?? 'text' };
  if (!labelled) {
    // No labels (far out of distribution): every row is class -1; the label column is not read.
    const n = table.rowCount;
    const inputs = config.features !== undefined ? featureMatrix(table, config.features) : { texts: textColumn(table, config.text ?? 'text') };
    return { source: table.path, rows: Int32Array.from({ length: n }, (_, i) => i), ...inputs, labels: new Int32Array(n).fill(-1), labelMap: labelMap ?? LabelMap.integer(1) };
  }
  return classificationExamples(table, { ...input, label: config.label, ...(labelMap ? { labels: labelMap } : {}) });
}

/** Indices of `examples` by class, each class shuffled with `seed`. */
function shuffledByClass(examples: Examples, seed: number): number[][] {
  const byClass = new Map<number, number[]>();
  examples.labels.forEach((c, i) => (byClass.get(c) ?? byClass.set(c, []).get(c)!).push(i));
  return [...byClass.keys()].sort((a, b) => a - b).map((c) => seededShuffle(byClass.get(c)!, seed + 10 * (c + 1)));
}

/** Class-proportional counts summing to n (largest remainder). */
function proportional(sizes: readonly number[], n: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => (s / total) * n);
  const counts = exact.map(Math.floor);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  // The deficit is fixed before the loop (a bound re-read as counts grow would stop halfway).
  const deficit = n - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; k < deficit; k++) counts[order[k]![1]]!++;
  return counts;
}

/**
 * Indices of disjoint, class-proportional parts of the given sizes (in order) out of `examples`;
 * with `resplit` > 0 the same pool dealt out again (see `DataConfig.resplit`).
 */
function carveIndices(examples: Examples, sizes: readonly number[], seed: number, source: string, names: readonly string[], resplit = 0): number[][] {
  const classes = shuffledByClass(examples, seed);
  const at = classes.map(() => 0);
  // picks[p][k]: part p's examples of class k.
  const picks = sizes.map((n) => {
    const counts = proportional(classes.map((c) => c.length), n);
    return classes.map((c, k) => {
      if (at[k]! + counts[k]! > c.length) throw new DataError({ file: source }, `has too few examples of class ${examples.labelMap.names[examples.labels[c[0]!]!] ?? k} for ${names.map((s, i) => `${s} ${sizes[i]}`).join(', ')}`);
      const picked = c.slice(at[k]!, at[k]! + counts[k]!);
      at[k]! += counts[k]!;
      return picked;
    });
  });
  if (resplit > 0) {
    classes.forEach((_, k) => {
      const pool = seededShuffle(picks.flatMap((p) => p[k]!), seed + 1000 * resplit + 10 * (k + 1));
      let from = 0;
      for (const p of picks) {
        const n = p[k]!.length;
        p[k] = pool.slice(from, from + n);
        from += n;
      }
    });
  }
  return picks.map((p, i) => seededShuffle(p.flat(), seed + 100 + i + 1000 * resplit));
}

/** Carves disjoint, class-proportional parts of the given sizes (in order) out of `examples`. */
function carve(examples: Examples, sizes: readonly number[], seed: number, source: string, names: readonly string[], resplit = 0): Examples[] {
  return carveIndices(examples, sizes, seed, source, names, resplit).map((indices) => selectExamples(examples, indices));
}

/** Every split of the config, read, mapped and carved. `configDir` anchors relative paths. */
export async function loadSplits(config: DataConfig, configDir: string): Promise<ExperimentData> {
  const sources = new Map<SplitName, string>();
  for (const s of SPLITS) {
    const v = config[s];
    if (typeof v === 'string') sources.set(s, resolveSource(v, configDir));
  }
  const tables = new Map<string, Table>();
  const tableOf = async (source: string) => {
    if (!tables.has(source)) tables.set(source, source.startsWith('bundled:') ? bundledTable(source.slice('bundled:'.length)) : await readTable(source));
    return tables.get(source)!;
  };
  const fixed = config.labels ? (config.task === 'multiple-choice' ? undefined : LabelMap.strings(config.labels)) : undefined;
  // The training source first: it decides the label map.
  const trainAll = examplesOf(await tableOf(sources.get('train')!), config, true, fixed);
  const labelMap = fixed ?? trainAll.labelMap;
  const all = new Map<string, Examples>([[sources.get('train')!, trainAll]]);
  for (const [s, source] of sources) {
    if (!all.has(source)) all.set(source, examplesOf(await tableOf(source), config, s !== 'ood', s === 'ood' ? undefined : labelMap));
  }
  const out: Partial<Record<SplitName, Examples>> = {};
  // Group splits by source; carve shared sources disjointly.
  const bySource = new Map<string, SplitName[]>();
  for (const [s, source] of sources) (bySource.get(source) ?? bySource.set(source, []).get(source)!).push(s);
  for (const [source, splits] of bySource) {
    const examples = all.get(source)!;
    const n = examples.labels.length;
    const sized = splits.filter((s) => config.sizes?.[s] !== undefined);
    const unsized = splits.filter((s) => config.sizes?.[s] === undefined);
    if (splits.length === 1) {
      const s = splits[0]!;
      const size = config.sizes?.[s];
      if (size === undefined || size === n) out[s] = examples;
      else if (size > n) throw new DataError({ file: source }, `has ${n} examples; 'data.sizes.${s}' asks for ${size}`);
      else out[s] = carve(examples, [size], config.seed + SPLITS.indexOf(s), source, [s])[0]!;
      continue;
    }
    if (unsized.length > 1) throw new DataError({ file: source }, `serves ${splits.join(', ')}: give 'data.sizes' for all of them but one (the one without a size takes the rest)`);
    const sizes = sized.map((s) => config.sizes![s]!);
    const taken = sizes.reduce((a, b) => a + b, 0);
    if (taken > n || (unsized.length && taken === n)) throw new DataError({ file: source }, `has ${n} examples; ${sized.map((s) => `${s} ${config.sizes![s]}`).join(' + ')} ${unsized.length ? `leaves none for ${unsized[0]}` : 'is more'}`);
    const order = [...sized, ...unsized];
    const parts = carve(examples, [...sizes, ...(unsized.length ? [n - taken] : [])], config.seed, source, order, config.resplit ?? 0);
    order.forEach((s, i) => (out[s] = parts[i]));
  }
  if (typeof config.validation === 'number') {
    const { train, validation } = validationFraction(out.train!, config.validation, config.seed + 7 + 1000 * (config.resplit ?? 0));
    out.train = train;
    out.validation = validation;
  }
  const split = (s: SplitName): Split => ({ ...out[s]!, name: s });
  return {
    train: split('train'),
    validation: split('validation'),
    test: split('test'),
    ...(out.shift ? { shift: split('shift') } : {}),
    ...(out.ood ? { ood: split('ood') } : {}),
    labelMap,
  };
}

