/**
 * Sequence classification from a table: one text column (or numeric feature columns) and one label
 * column. Every bad value is a DataError naming the file, the row and the column.
 */
import { DataError } from './dataError.ts';
import type { Examples } from './examples.ts';
import { LabelMap, type LabelSource } from './labels.ts';
import type { Table } from './table.ts';

export type { Examples } from './examples.ts';

export interface ClassificationColumns {
  /** The text column (exactly one of `text` and `features`). */
  text?: string;
  /**
   * Numeric inputs for a tabular model: a list of numeric columns, or the name of one column holding
   * an array of numbers per row (in CSV, a JSON array such as "[0.5, 1]").
   */
  features?: readonly string[] | string;
  /** The label column. */
  label: string;
  /** Map labels with this (the training file's) map; derived from this file when absent. */
  labels?: LabelMap;
}

export function classificationExamples(table: Table, columns: ClassificationColumns): Examples {
  const { text, features, label } = columns;
  if ((text === undefined) === (features === undefined)) {
    throw new DataError({ file: table.path }, 'name exactly one of a text column and feature columns');
  }
  const labelValues = table.column(label);
  const inputs = text !== undefined ? { texts: textColumn(table, text) } : featureMatrix(table, features!);
  const source = labelSource(table, label);
  const labelMap = columns.labels ?? LabelMap.fromValues(labelValues, source);
  const labels = labelMap.idsOf(labelValues, source);
  return { source: table.path, rows: Int32Array.from({ length: table.rowCount }, (_, i) => i), ...inputs, labels, labelMap };
}

export function labelSource(table: Table, column: string): LabelSource {
  return { file: table.path, column, rowPlace: (i) => table.rowPlace(i) };
}

/** A column of non-empty strings (numbers in JSON are taken as their text). */
export function textColumn(table: Table, name: string): string[] {
  return table.column(name).map((value, i) => textValue(table, name, i, value));
}

export function textValue(table: Table, column: string, row: number, value: unknown): string {
  const place = { file: table.path, row: table.rowPlace(row), column };
  if (value === undefined || value === null) throw new DataError(place, 'missing text');
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string') throw new DataError(place, `text must be a string, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  if (value.trim() === '') throw new DataError(place, 'empty text');
  return value;
}

/** The [rows, k] Float32 matrix of feature columns (or of one array column). */
export function featureMatrix(table: Table, features: readonly string[] | string): { features: Float32Array; featureCount: number } {
  const n = table.rowCount;
  if (typeof features !== 'string') {
    if (features.length === 0) throw new DataError({ file: table.path }, 'the list of feature columns is empty');
    const k = features.length;
    const out = new Float32Array(n * k);
    features.forEach((name, j) => {
      table.column(name).forEach((value, i) => (out[i * k + j] = numberValue(table, name, i, value)));
    });
    return { features: out, featureCount: k };
  }
  const values = table.column(features);
  let k = -1;
  let out = new Float32Array(0);
  values.forEach((value, i) => {
    const place = { file: table.path, row: table.rowPlace(i), column: features };
    const row = arrayValue(value, place);
    if (k < 0) {
      k = row.length;
      if (k === 0) throw new DataError(place, 'empty feature array');
      out = new Float32Array(n * k);
    } else if (row.length !== k) {
      throw new DataError(place, `feature array has ${row.length} values; earlier rows have ${k}`);
    }
    for (let j = 0; j < k; j++) out[i * k + j] = numberValue(table, features, i, row[j], `value ${j}`);
  });
  return { features: out, featureCount: Math.max(k, 0) };
}

/** One finite number: a JSON number, a Parquet number or bigint, or a CSV numeral. */
export function numberValue(table: Table, column: string, row: number, value: unknown, part?: string): number {
  const place = { file: table.path, row: table.rowPlace(row), column };
  const what = part === undefined ? '' : `${part}: `;
  let x: number;
  if (typeof value === 'number') x = value;
  else if (typeof value === 'bigint') x = Number(value);
  else if (typeof value === 'boolean') x = value ? 1 : 0;
  else if (typeof value === 'string' && value.trim() !== '') x = Number(value);
  else throw new DataError(place, `${what}expected a number, got ${value === undefined || value === null || value === '' ? 'nothing' : JSON.stringify(value)}`);
  if (Number.isNaN(x)) throw new DataError(place, `${what}expected a number, got ${JSON.stringify(value)}`);
  if (!Number.isFinite(x)) throw new DataError(place, `${what}expected a finite number, got ${JSON.stringify(typeof value === 'string' ? value : String(value))}`);
  return x;
}

/** An array cell: a JSON/Parquet array, a typed array, or (CSV) the text of a JSON array. */
export function arrayValue(value: unknown, place: { file: string; row: string; column: string }): ArrayLike<unknown> {
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return value as unknown as ArrayLike<unknown>;
  if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // fall through to the error below
    }
  }
  throw new DataError(place, `expected an array, got ${value === undefined || value === null ? 'nothing' : JSON.stringify(value).slice(0, 60)}`);
}
