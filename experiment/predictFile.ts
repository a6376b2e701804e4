/**
 * `swaglet predict`: a method's posterior-averaged class probabilities for every row of a data
 * file, with the predictive entropy (the uncertainty a SWAG posterior adds), written as JSONL or
 * CSV. The file needs the training data's input columns (text or features); labels are not read.
 */
import { extname } from 'node:path';
import { readTable, DataError, type Table } from '../data/table.ts';
import { featureMatrix, textColumn } from '../data/tasks.ts';
import { multipleChoiceExamples } from '../data/multipleChoice.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { computeFeatures } from '../train/features.ts';
import { type MethodName, METHODS, predictMethod, type TrainedRun } from '../train/methods.ts';
import type { ExperimentConfig } from './config.ts';
import { inputTable, loadTokenizer } from './data.ts';
import type { Split } from './dataSources.ts';
import type { ExperimentEvents, Prepared } from './run.ts';

export interface Prediction {
  method: MethodName;
  /** Class names, by id. */
  classes: readonly string[];
  /** [rows, classes] row-major. */
  probabilities: Float64Array;
  /** Predictive entropy of each row (nats). */
  entropy: Float64Array;
  /** The arg-max class of each row. */
  predicted: Int32Array;
}

export async function predictFile(prepared: Prepared, runs: readonly TrainedRun[], config: ExperimentConfig, input: string, options: { method: MethodName; samples: number; events: ExperimentEvents }): Promise<Prediction> {
  if (!METHODS.includes(options.method)) throw new Error(`--method: unknown method '${options.method}' (known: ${METHODS.join(', ')})`);
  const { network, data } = prepared;
  const table = await readTable(input);
  const n = table.rowCount;
  if (n === 0) throw new DataError({ file: input }, 'has no rows');
  const d = config.data;
  const inputs: Pick<Split, 'texts' | 'features' | 'featureCount'> =
    d.task === 'multiple-choice'
      ? {
          texts: multipleChoiceExamples(withoutAnswers(table, d.answer!), {
            question: d.question!,
            choices: d.choices!,
            answer: d.answer!,
            ...(d.answerIndexBase !== undefined ? { answerIndexBase: d.answerIndexBase } : {}),
            ...(d.sentenceCase !== undefined ? { sentenceCase: d.sentenceCase } : {}),
          }).texts!,
        }
      : d.features !== undefined
        ? featureMatrix(table, d.features)
        : { texts: textColumn(table, d.text ?? 'text') };
  const split: Split = { name: 'test', source: input, rows: Int32Array.from({ length: n }, (_, i) => i), labels: new Int32Array(n).fill(-1), labelMap: data.labelMap, ...inputs };
  const tokenizer = await loadTokenizer(config.model);
  const features = await computeFeatures(network, inputTable(split, network.dataInputs, tokenizer, config.model.maxTokens, prepared.letters), (done, total) => options.events.progress('prefix', done, total));
  const probabilities = await predictMethod(network, options.method, runs, features, { samples: options.samples, onProgress: (_m, done, total) => options.events.progress(options.method, done, total) });
  const c = network.classes;
  const entropy = new Float64Array(n);
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let h = 0;
    let best = 0;
    for (let k = 0; k < c; k++) {
      const p = probabilities[i * c + k]!;
      if (p > 0) h -= p * Math.log(p);
      if (p > probabilities[i * c + best]!) best = k;
    }
    entropy[i] = h;
    predicted[i] = best;
  }
  return { method: options.method, classes: data.labelMap.names, probabilities, entropy, predicted };
}

/**
 * Labels are not read: a multiple-choice file without the answer column reads as one whose every
 * answer is "A" (the prompts do not depend on it).
 */
function withoutAnswers(table: Table, answer: string): Table {
  if (table.columns.includes(answer)) return table;
  const first = new Array<string>(table.rowCount).fill('A');
  return { path: table.path, columns: [...table.columns, answer], rowCount: table.rowCount, rowPlace: (i) => table.rowPlace(i), column: (name) => (name === answer ? first : table.column(name)) };
}

/** One row per input: row, predicted class, each class's probability, entropy. `.jsonl` or `.csv` by extension. */
export async function writePredictions(path: string, p: Prediction): Promise<void> {
  const c = p.classes.length;
  const n = p.entropy.length;
  const ext = extname(path).toLowerCase();
  const lines: string[] = [];
  if (ext === '.csv') {
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    lines.push(['row', 'prediction', ...p.classes.map((k) => quote(`p_${k}`)), 'entropy'].join(','));
    for (let i = 0; i < n; i++) lines.push([i, quote(p.classes[p.predicted[i]!]!), ...Array.from({ length: c }, (_, k) => p.probabilities[i * c + k]), p.entropy[i]].join(','));
  } else if (ext === '.jsonl') {
    for (let i = 0; i < n; i++) {
      const probs = Object.fromEntries(p.classes.map((k, j) => [k, p.probabilities[i * c + j]]));
      lines.push(JSON.stringify({ row: i, prediction: p.classes[p.predicted[i]!], probabilities: probs, entropy: p.entropy[i], method: p.method }));
    }
  } else {
    throw new Error(`--output: ${path}: write .jsonl or .csv`);
  }
  await writeFileAtomic(path, `${lines.join('\n')}\n`);
}
