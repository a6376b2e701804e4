/**
 * Plain JavaScript columns from an R data.frame (or tibble, which is a data.frame subclass).
 * Factors become their labels; NA becomes `null` in string and logical columns and NaN in numeric ones.
 * Other classed atomic columns (Date, POSIXct, difftime) come back as their underlying numbers;
 * list columns are refused.
 */
import { RFormatError } from './errors.ts';
import { NA_INTEGER, attributeOf, classOf, namesOf, type RValue } from './types.ts';

export type DataFrameColumn = (string | null)[] | number[] | (boolean | null)[];

export function asDataFrame(v: RValue): Record<string, DataFrameColumn> {
  if (v.kind !== 'list' || !classOf(v).includes('data.frame')) {
    throw new RFormatError(`expected a data.frame, got ${v.kind} of class ${JSON.stringify(classOf(v))}`);
  }
  const names = namesOf(v);
  if (!names || names.length !== v.items.length) throw new RFormatError('data.frame without column names');
  const out: Record<string, DataFrameColumn> = {};
  let rows: number | null = null;
  v.items.forEach((column, i) => {
    const name = names[i] ?? `V${i + 1}`;
    const values = asColumn(column, name);
    if (rows !== null && values.length !== rows) {
      throw new RFormatError(`data.frame column ${name} has ${values.length} rows, earlier ones ${rows}`);
    }
    rows = values.length;
    out[name] = values;
  });
  return out;
}

/** The labels of a factor, `null` for NA. */
export function factorLabels(v: RValue): (string | null)[] {
  const levels = attributeOf(v, 'levels');
  if (v.kind !== 'integer' || !classOf(v).includes('factor') || levels?.kind !== 'character') {
    throw new RFormatError(`expected a factor, got ${v.kind} of class ${JSON.stringify(classOf(v))}`);
  }
  return Array.from(v.data, (code) => {
    if (code === NA_INTEGER) return null;
    const label = levels.data[code - 1];
    if (label === undefined) throw new RFormatError(`factor code ${code} outside its ${levels.data.length} levels`);
    return label;
  });
}

function asColumn(column: RValue, name: string): DataFrameColumn {
  switch (column.kind) {
    case 'integer':
      if (classOf(column).includes('factor')) return factorLabels(column);
      return Array.from(column.data, (x) => (x === NA_INTEGER ? Number.NaN : x));
    case 'double':
      return Array.from(column.data);
    case 'character':
      return [...column.data];
    case 'logical':
      return Array.from(column.data, (x) => (x === NA_INTEGER ? null : x !== 0));
    default:
      throw new RFormatError(`data.frame column ${name} is a ${column.kind}; only atomic columns are supported`);
  }
}
