/**
 * Class labels as ids 0..k-1, and the map between them and what the data file says.
 *
 * Two kinds, decided by the training data (or given, e.g. read back from a finished run):
 * - `integer`: the file's labels are non-negative integers (JSON/Parquet numbers or bigints, or CSV
 *   strings of digits) and are the class ids themselves; k is the largest + 1 unless names are given.
 * - `string`: any other labels; ids follow the sorted distinct label strings, so the same training data
 *   always gives the same map. Validation and test files are mapped with the training map: a label not
 *   in it is an error naming the file and row.
 */
import { DataError } from './dataError.ts';

export type LabelKind = 'integer' | 'string';

/** The JSON form saved with a run. */
export interface LabelMapJson {
  kind: LabelKind;
  /** Name of each class, by id. */
  names: string[];
}

/** Where a label value came from, for error messages. */
export interface LabelSource {
  file: string;
  column: string;
  rowPlace(index: number): string;
}

const INTEGER_TEXT = /^\s*(0|[1-9][0-9]*)\s*$/;

export class LabelMap {
  private readonly ids: Map<string, number>;

  private constructor(
    readonly kind: LabelKind,
    /** Name of each class, by id. */
    readonly names: readonly string[],
  ) {
    this.ids = new Map(names.map((name, id) => [name, id]));
  }

  get classCount(): number {
    return this.names.length;
  }

  /** `k` integer classes named "0".."k-1" (or by `names`, which must have k entries). */
  static integer(classCount: number, names?: readonly string[]): LabelMap {
    if (!Number.isInteger(classCount) || classCount < 1) throw new Error(`class count must be a positive integer, got ${classCount}`);
    const given = names ?? Array.from({ length: classCount }, (_, i) => String(i));
    if (given.length !== classCount) throw new Error(`${given.length} names given for ${classCount} classes`);
    return new LabelMap('integer', checkNames(given));
  }

  /** String classes, ids in the order given. */
  static strings(names: readonly string[]): LabelMap {
    if (names.length === 0) throw new Error('a label map needs at least one class');
    return new LabelMap('string', checkNames(names));
  }

  /**
   * The map a column of labels implies: integer when every value is a non-negative integer, otherwise
   * the sorted distinct strings. A missing or empty label, or a negative/fractional number, is a
   * DataError naming the file, the row and the column.
   */
  static fromValues(values: readonly unknown[], source: LabelSource): LabelMap {
    if (values.length === 0) throw new DataError({ file: source.file, column: source.column }, 'no rows, so no labels');
    const keys = values.map((v, i) => labelKey(v, i, source));
    const integers = keys.every((k) => k.integer !== undefined);
    if (integers) {
      let max = 0;
      for (const k of keys) max = Math.max(max, k.integer!);
      return LabelMap.integer(max + 1);
    }
    return LabelMap.strings([...new Set(keys.map((k) => k.text))].sort());
  }

  /** Reads the JSON form back; `source` (the file it came from) names it in a DataError. */
  static fromJSON(json: unknown, source = 'label map'): LabelMap {
    const j = json as Partial<LabelMapJson> | null;
    if (j === null || typeof j !== 'object' || (j.kind !== 'integer' && j.kind !== 'string') || !Array.isArray(j.names)) {
      throw new DataError({ file: source }, `a label map is {"kind": "integer" | "string", "names": [...]}, got ${JSON.stringify(json)}`);
    }
    if (j.names.length === 0 || !j.names.every((n) => typeof n === 'string')) {
      throw new DataError({ file: source }, 'label map names must be a non-empty list of strings');
    }
    try {
      return j.kind === 'integer' ? LabelMap.integer(j.names.length, j.names) : LabelMap.strings(j.names);
    } catch (e) {
      throw new DataError({ file: source }, (e as Error).message);
    }
  }

  toJSON(): LabelMapJson {
    return { kind: this.kind, names: [...this.names] };
  }

  /** The class id of one label value; a DataError naming file, row and column when it has none. */
  idOf(value: unknown, row: number, source: LabelSource): number {
    const key = labelKey(value, row, source);
    if (this.kind === 'integer') {
      if (key.integer === undefined) {
        throw new DataError(placeOf(row, source), `label ${JSON.stringify(key.text)} is not a class id (this map has integer labels 0..${this.classCount - 1})`);
      }
      if (key.integer >= this.classCount) {
        throw new DataError(placeOf(row, source), `label ${key.integer} is not in the label map (classes 0..${this.classCount - 1})`);
      }
      return key.integer;
    }
    const id = this.ids.get(key.text);
    if (id === undefined) {
      throw new DataError(placeOf(row, source), `label ${JSON.stringify(key.text)} is not in the label map (${this.names.map((n) => JSON.stringify(n)).join(', ')})`);
    }
    return id;
  }

  /** Class ids of a whole column. */
  idsOf(values: readonly unknown[], source: LabelSource): Int32Array {
    const out = new Int32Array(values.length);
    values.forEach((v, i) => (out[i] = this.idOf(v, i, source)));
    return out;
  }
}

function checkNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`label ${JSON.stringify(n)} appears twice in the label map`);
    seen.add(n);
  }
  return [...names];
}

function placeOf(row: number, source: LabelSource) {
  return { file: source.file, row: source.rowPlace(row), column: source.column };
}

/** A label value as text, plus its integer reading when it has one. */
function labelKey(value: unknown, row: number, source: LabelSource): { text: string; integer?: number } {
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new DataError(placeOf(row, source), `label ${value} is not a usable class id`);
    return { text: String(value), integer: Number(value) };
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new DataError(placeOf(row, source), `label ${value} is not a non-negative integer`);
    return { text: String(value), integer: value };
  }
  if (typeof value === 'boolean') return { text: String(value) };
  if (typeof value === 'string') {
    if (value.trim() === '') throw new DataError(placeOf(row, source), 'empty label');
    return INTEGER_TEXT.test(value) ? { text: value.trim(), integer: Number(value) } : { text: value };
  }
  if (value === undefined || value === null) throw new DataError(placeOf(row, source), 'missing label');
  throw new DataError(placeOf(row, source), `label must be a string or an integer, got ${Array.isArray(value) ? 'an array' : typeof value}`);
}
