import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, readTable } from '../../data/table.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const parquet = (name: string, options: Parameters<typeof parquetWriteBuffer>[0]): string =>
  file(name, new Uint8Array(parquetWriteBuffer(options)));

describe('readTable: JSONL', () => {
  it('reads objects line by line, skipping blank lines, keys in order of first appearance', async () => {
    const path = file('a.jsonl', '{"text":"good","label":"pos"}\n\n{"label":"neg","text":"bad","extra":[1,2]}\r\n{"text":"meh"}\n');
    const t = await readTable(path);
    expect(t.columns).toEqual(['text', 'label', 'extra']);
    expect(t.rowCount).toBe(3);
    expect(t.column('text')).toEqual(['good', 'bad', 'meh']);
    expect(t.column('label')).toEqual(['pos', 'neg', undefined]);
    expect(t.column('extra')).toEqual([undefined, [1, 2], undefined]);
    expect([0, 1, 2].map((i) => t.rowPlace(i))).toEqual(['line 1', 'line 3', 'line 4']);
  });

  it('names the file and line of a bad line', async () => {
    await expect(readTable(file('b.jsonl', '{"a":1}\n{"a":\n'))).rejects.toThrow(/b\.jsonl: line 2: not valid JSON/);
    await expect(readTable(file('c.jsonl', '{"a":1}\n[1,2]\n'))).rejects.toThrow(/c\.jsonl: line 2: expected a JSON object, got an array/);
  });
});

describe('readTable: CSV', () => {
  it('reads a header and quoted fields, values as strings, rows named by their first line', async () => {
    const path = file('a.csv', '\uFEFFtext,label\n"hello, world",1\n"two\nlines",0\nplain,1\n');
    const t = await readTable(path);
    expect(t.columns).toEqual(['text', 'label']);
    expect(t.column('text')).toEqual(['hello, world', 'two\nlines', 'plain']);
    expect(t.column('label')).toEqual(['1', '0', '1']);
    expect([0, 1, 2].map((i) => t.rowPlace(i))).toEqual(['line 2', 'line 3', 'line 5']);
  });

  it('names the file for ragged rows, a repeated header and an empty file', async () => {
    await expect(readTable(file('b.csv', 'a,b\n1,2\n3\n'))).rejects.toThrow(/b\.csv: line 3: bad CSV/);
    await expect(readTable(file('c.csv', 'a,a\n1,2\n'))).rejects.toThrow(/c\.csv: line 1: column "a": the header names this column twice/);
    await expect(readTable(file('d.csv', ''))).rejects.toThrow(/d\.csv: empty CSV file/);
  });
});

describe('readTable: Parquet', () => {
  const columnData = [
    { name: 'text', data: ['a', 'b', 'c', 'd', 'e'], type: 'STRING' as const },
    { name: 'label', data: [0n, 2n, 1n, 0n, 1n], type: 'INT64' as const },
    { name: 'vec', data: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]] },
  ];

  for (const codec of ['SNAPPY', 'UNCOMPRESSED'] as const) {
    it(`reads ${codec} columns across row groups`, async () => {
      const t = await readTable(parquet(`${codec}.parquet`, { columnData, codec, rowGroupSize: 2 }));
      expect(t.columns).toEqual(['text', 'label', 'vec']);
      expect(t.rowCount).toBe(5);
      expect(t.column('text')).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(t.column('label')).toEqual([0n, 2n, 1n, 0n, 1n]);
      expect(t.column('vec')).toEqual([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]);
      expect(t.rowPlace(4)).toBe('row 5');
    });
  }

  it('reads only the columns asked for', async () => {
    const path = parquet('some.parquet', { columnData });
    const t = await readTable(path, { columns: ['label'] });
    expect(t.columns).toEqual(['label']);
    expect(() => t.column('text')).toThrow(/column "text": was not read/);
    await expect(readTable(path, { columns: ['nope'] })).rejects.toThrow(/column "nope": no such column; the file has "text", "label", "vec"/);
  });

  it('rejects a codec hyparquet cannot decode by itself, naming the file, column and codec', async () => {
    const path = parquet('gzip.parquet', {
      columnData: [{ name: 'text', data: ['a'], type: 'STRING' }],
      codec: 'GZIP',
      compressors: { GZIP: (bytes: Uint8Array) => gzipSync(bytes) },
    });
    const error = await readTable(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect(String((error as Error).message)).toBe(
      `${path}: column "text": compressed with GZIP, which cannot be read here (supported: UNCOMPRESSED, SNAPPY); re-save the file uncompressed or with snappy`,
    );
  });

  it('names the file when it is not Parquet', async () => {
    await expect(readTable(file('not.parquet', 'hello'))).rejects.toThrow(/not\.parquet: not a readable Parquet file/);
  });
});

describe('readTable: files', () => {
  it('names a missing column with the columns that exist', async () => {
    const t = await readTable(file('m.jsonl', '{"review":"x","stars":1}\n'));
    expect(() => t.column('text')).toThrow(`${t.path}: column "text": no such column; the file has "review", "stars"`);
  });

  it('names a missing file and an unknown extension', async () => {
    await expect(readTable(join(dir, 'missing.csv'))).rejects.toThrow(/missing\.csv: cannot read the file \(ENOENT\)/);
    await expect(readTable(file('x.tsv', 'a\tb\n'))).rejects.toThrow(/x\.tsv: unknown data file type "\.tsv"; expected one of \.jsonl, \.csv, \.parquet/);
  });
});
