import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { LabelMap } from '../../data/labels.ts';
import { multipleChoiceExamples, multipleChoicePrompt, sentenceCase } from '../../data/multipleChoice.ts';
import { readTable } from '../../data/table.ts';
import { classificationExamples } from '../../data/tasks.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-tasks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const jsonl = (name: string, rows: unknown[]): string => file(name, rows.map((r) => JSON.stringify(r)).join('\n'));

describe('classification labels', () => {
  it('maps string labels to the ids of their sorted order, and round-trips the map through JSON', async () => {
    const t = await readTable(jsonl('s.jsonl', [{ t: 'a', y: 'pos' }, { t: 'b', y: 'neg' }, { t: 'c', y: 'neutral' }, { t: 'd', y: 'pos' }]));
    const ex = classificationExamples(t, { text: 't', label: 'y' });
    expect(ex.labelMap.toJSON()).toEqual({ kind: 'string', names: ['neg', 'neutral', 'pos'] });
    expect(Array.from(ex.labels)).toEqual([2, 0, 1, 2]);
    expect(ex.texts).toEqual(['a', 'b', 'c', 'd']);
    const again = LabelMap.fromJSON(JSON.parse(JSON.stringify(ex.labelMap)));
    expect(again.toJSON()).toEqual(ex.labelMap.toJSON());
  });

  it('takes integer labels as the class ids, from JSON numbers, CSV digits and Parquet INT64 alike', async () => {
    const fromJson = classificationExamples(await readTable(jsonl('i.jsonl', [{ t: 'a', y: 3 }, { t: 'b', y: 0 }])), { text: 't', label: 'y' });
    const fromCsv = classificationExamples(await readTable(file('i.csv', 't,y\na,3\nb,0\n')), { text: 't', label: 'y' });
    const fromParquet = classificationExamples(
      await readTable(file('i.parquet', new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 't', data: ['a', 'b'], type: 'STRING' }, { name: 'y', data: [3n, 0n], type: 'INT64' }] })))),
      { text: 't', label: 'y' },
    );
    for (const ex of [fromJson, fromCsv, fromParquet]) {
      expect(Array.from(ex.labels)).toEqual([3, 0]);
      expect(ex.labelMap.toJSON()).toEqual({ kind: 'integer', names: ['0', '1', '2', '3'] });
    }
  });

  it('maps a validation file with the training map, naming the file and row of an unknown label', async () => {
    const train = classificationExamples(await readTable(jsonl('tr.jsonl', [{ t: 'a', y: 'cat' }, { t: 'b', y: 'dog' }])), { text: 't', label: 'y' });
    const path = jsonl('va.jsonl', [{ t: 'c', y: 'dog' }, { t: 'd', y: 'bird' }]);
    const validation = await readTable(path);
    expect(() => classificationExamples(validation, { text: 't', label: 'y', labels: train.labelMap })).toThrow(
      `${path}: line 2: column "y": label "bird" is not in the label map ("cat", "dog")`,
    );
    const intMap = LabelMap.integer(2);
    const csv = file('va.csv', 't,y\na,1\nb,2\n');
    await expect(readTable(csv).then((t) => classificationExamples(t, { text: 't', label: 'y', labels: intMap }))).rejects.toThrow(
      `${csv}: line 3: column "y": label 2 is not in the label map (classes 0..1)`,
    );
  });

  it('names the file, row and column of an empty text, a missing label and a negative label', async () => {
    const empty = jsonl('e.jsonl', [{ t: 'a', y: 1 }, { t: '  ', y: 0 }]);
    await expect(readTable(empty).then((t) => classificationExamples(t, { text: 't', label: 'y' }))).rejects.toThrow(`${empty}: line 2: column "t": empty text`);
    const missing = file('m.csv', 't,y\na,1\nb,\n');
    await expect(readTable(missing).then((t) => classificationExamples(t, { text: 't', label: 'y' }))).rejects.toThrow(`${missing}: line 3: column "y": empty label`);
    const negative = jsonl('n.jsonl', [{ t: 'a', y: -1 }]);
    await expect(readTable(negative).then((t) => classificationExamples(t, { text: 't', label: 'y' }))).rejects.toThrow(/line 1: column "y": label -1 is not a non-negative integer/);
  });

  it('names a missing label or text column with the columns that exist', async () => {
    const path = jsonl('c.jsonl', [{ review: 'a', stars: 1 }]);
    const t = await readTable(path);
    expect(() => classificationExamples(t, { text: 'review', label: 'label' })).toThrow(`${path}: column "label": no such column; the file has "review", "stars"`);
    expect(() => classificationExamples(t, { text: 'text', label: 'stars' })).toThrow(/column "text": no such column/);
  });

  it('rejects a malformed label map JSON', () => {
    expect(() => LabelMap.fromJSON({ kind: 'float', names: [] })).toThrow(/a label map is/);
    expect(() => LabelMap.fromJSON({ kind: 'string', names: ['a', 'a'] }, 'run/labels.json')).toThrow('run/labels.json: label "a" appears twice in the label map');
    expect(() => LabelMap.fromJSON({ kind: 'integer', names: [] }, 'run/labels.json')).toThrow(/run\/labels\.json: label map names must be a non-empty list/);
  });
});

describe('classification on features', () => {
  it('builds a row-major [rows, k] Float32 matrix from numeric columns (CSV numerals included)', async () => {
    const t = await readTable(file('f.csv', 'x1,x2,y\n1.5,-2,a\n0,3e2,b\n'));
    const ex = classificationExamples(t, { features: ['x1', 'x2'], label: 'y' });
    expect(ex.featureCount).toBe(2);
    expect(Array.from(ex.features!)).toEqual([1.5, -2, 0, 300]);
    expect(ex.texts).toBeUndefined();
  });

  it('builds the matrix from one array column (JSON arrays, Parquet lists)', async () => {
    const fromJson = classificationExamples(await readTable(jsonl('v.jsonl', [{ v: [1, 2, 3], y: 0 }, { v: [4, 5, 6], y: 1 }])), { features: 'v', label: 'y' });
    const fromParquet = classificationExamples(
      await readTable(file('v.parquet', new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'v', data: [[1, 2, 3], [4, 5, 6]] }, { name: 'y', data: [0, 1], type: 'INT32' }] })))),
      { features: 'v', label: 'y' },
    );
    for (const ex of [fromJson, fromParquet]) {
      expect(ex.featureCount).toBe(3);
      expect(Array.from(ex.features!)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('names the file, row and column of a non-number or a ragged array', async () => {
    const bad = file('b.csv', 'x,y\n1,a\nfoo,b\n');
    await expect(readTable(bad).then((t) => classificationExamples(t, { features: ['x'], label: 'y' }))).rejects.toThrow(`${bad}: line 3: column "x": expected a number, got "foo"`);
    const ragged = jsonl('r.jsonl', [{ v: [1, 2], y: 0 }, { v: [1], y: 0 }]);
    await expect(readTable(ragged).then((t) => classificationExamples(t, { features: 'v', label: 'y' }))).rejects.toThrow(`${ragged}: line 2: column "v": feature array has 1 values; earlier rows have 2`);
  });
});

describe('multiple choice', () => {
  it('writes the SWAG-LoRA prompt', () => {
    expect(multipleChoicePrompt('Where do fish live?', ['Trees.', 'Water.', 'Sky.'])).toBe(
      'Select one of the choices that answers the following question: Where do fish live? Choices: A. Trees. B. Water. C. Sky. Answer:',
    );
    expect(sentenceCase('water')).toBe('Water.');
    expect(sentenceCase('Water.')).toBe('Water.');
  });

  it('reads choices from an array column, a Hugging Face {text, label} struct, or a list of columns', async () => {
    const arrays = await readTable(jsonl('mc1.jsonl', [
      { q: 'Q1?', c: ['a', 'b', 'c'], a: 'B' },
      { q: 'Q2?', c: ['d', 'e', 'f'], a: 2 },
    ]));
    const ex = multipleChoiceExamples(arrays, { question: 'q', choices: 'c', answer: 'a' });
    expect(ex.texts![0]).toBe(multipleChoicePrompt('Q1?', ['a', 'b', 'c']));
    expect(Array.from(ex.labels)).toEqual([1, 2]);
    expect(ex.labelMap.toJSON()).toEqual({ kind: 'string', names: ['A', 'B', 'C'] });

    const structs = await readTable(jsonl('mc2.jsonl', [{ q: 'Q?', c: { text: ['x', 'y'], label: ['1', '2'] }, a: '2' }]));
    const arc = multipleChoiceExamples(structs, { question: 'q', choices: 'c', answer: 'a', answerIndexBase: 1, sentenceCase: true });
    expect(arc.texts).toEqual([multipleChoicePrompt('Q?', ['X.', 'Y.'])]);
    expect(Array.from(arc.labels)).toEqual([1]);

    const columns = await readTable(file('mc3.csv', 'q,e0,e1,e2,e3,label\nHe opens the door,walks in,flies,sings,sleeps,0\nShe sits,stands,eats,reads,runs,d\n'));
    const swag = multipleChoiceExamples(columns, { question: 'q', choices: ['e0', 'e1', 'e2', 'e3'], answer: 'label' });
    expect(Array.from(swag.labels)).toEqual([0, 3]);
    expect(swag.texts![1]).toBe(multipleChoicePrompt('She sits', ['stands', 'eats', 'reads', 'runs']));
  });

  it('reads an ARC-style Parquet file: choices as a {text, label} struct, answer letters', async () => {
    const path = file('arc.parquet', new Uint8Array(parquetWriteBuffer({ columnData: [
      { name: 'question', data: ['Q1?', 'Q2?'], type: 'STRING' },
      { name: 'choices', data: [{ text: ['a', 'b'], label: ['A', 'B'] }, { text: ['c', 'd'], label: ['A', 'B'] }] },
      { name: 'answerKey', data: ['B', 'A'], type: 'STRING' },
    ] })));
    const ex = multipleChoiceExamples(await readTable(path), { question: 'question', choices: 'choices', answer: 'answerKey' });
    expect(ex.texts).toEqual([multipleChoicePrompt('Q1?', ['a', 'b']), multipleChoicePrompt('Q2?', ['c', 'd'])]);
    expect(Array.from(ex.labels)).toEqual([1, 0]);
  });

  it('names the file and row of a bad answer or a different number of choices', async () => {
    const outside = jsonl('mc4.jsonl', [{ q: 'Q?', c: ['a', 'b'], a: 'C' }]);
    await expect(readTable(outside).then((t) => multipleChoiceExamples(t, { question: 'q', choices: 'c', answer: 'a' }))).rejects.toThrow(
      `${outside}: line 1: column "a": answer "C" is outside the 2 choices; expected a letter A..B or an index 0..1`,
    );
    const ragged = jsonl('mc5.jsonl', [{ q: 'Q?', c: ['a', 'b'], a: 'A' }, { q: 'R?', c: ['a', 'b', 'c'], a: 'A' }]);
    await expect(readTable(ragged).then((t) => multipleChoiceExamples(t, { question: 'q', choices: 'c', answer: 'a' }))).rejects.toThrow(
      /mc5\.jsonl: line 2: column "c": 3 choices, but earlier rows have 2/,
    );
    const emptyChoice = jsonl('mc6.jsonl', [{ q: 'Q?', c: ['a', ' '], a: 'A' }]);
    await expect(readTable(emptyChoice).then((t) => multipleChoiceExamples(t, { question: 'q', choices: 'c', answer: 'a' }))).rejects.toThrow(/line 1: column "c": choice 2 is empty/);
  });
});
