/**
 * A data file as named columns: what every reader (JSONL, CSV, Parquet) returns, and what the task
 * builders (data/tasks.ts) take. Column-oriented because the tasks read a few whole columns.
 */
import { extname } from 'node:path';
import { readCsvTable } from './csvTable.ts';
import { DataError } from './dataError.ts';
import { readJsonlTable } from './jsonlTable.ts';
import { readParquetTable } from './parquetTable.ts';

export { DataError } from './dataError.ts';

export interface Table {
  /** The file it was read from, as given: errors name it. */
  readonly path: string;
  /** Column names in file order. */
  readonly columns: readonly string[];
  readonly rowCount: number;
  /**
   * The values of one column, one per row. JSONL keeps JSON types (a row missing the key gives
   * undefined); CSV gives strings; Parquet gives its decoded values (INT64 as bigint, lists as arrays,
   * structs as objects). Throws DataError naming the file, the column and the columns that exist.
   */
  column(name: string): readonly unknown[];
  /** Where row `index` (0-based) sits in the file, in the file's own terms: "line 7", "row 6". */
  rowPlace(index: number): string;
}

export interface ReadTableOptions {
  /** Read only these columns (Parquet skips the others on disk; the text formats still parse them). */
  columns?: readonly string[];
}

/** The file formats readTable knows, by extension. */
export const TABLE_EXTENSIONS = ['.jsonl', '.csv', '.parquet'] as const;

/** Reads a data file by its extension (.jsonl, .csv, .parquet). Every failure is a DataError naming the file. */
export async function readTable(path: string, options: ReadTableOptions = {}): Promise<Table> {
  const extension = extname(path).toLowerCase();
  let table: Table;
  switch (extension) {
    case '.jsonl':
      table = await readJsonlTable(path);
      break;
    case '.csv':
      table = await readCsvTable(path);
      break;
    case '.parquet':
      table = await readParquetTable(path, options.columns);
      break;
    default:
      throw new DataError(
        { file: path },
        `unknown data file type ${JSON.stringify(extension || '(none)')}; expected one of ${TABLE_EXTENSIONS.join(', ')}`,
      );
  }
  for (const name of options.columns ?? []) table.column(name); // a missing requested column fails here, once
  return table;
}
