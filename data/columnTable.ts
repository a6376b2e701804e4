/** The in-memory Table every reader builds. */
import { DataError } from './dataError.ts';
import type { Table } from './table.ts';

/**
 * A Table over columns already in memory; readers share it. `rowPlace` words a row for errors;
 * `fileColumns` (when only some columns were read) lists every column the file has, for those errors.
 */
export function columnTable(
  path: string,
  columns: ReadonlyMap<string, readonly unknown[]>,
  rowCount: number,
  rowPlace: (index: number) => string,
  fileColumns: readonly string[] = [...columns.keys()],
): Table {
  const names = [...columns.keys()];
  return {
    path,
    columns: names,
    rowCount,
    column(name: string): readonly unknown[] {
      const values = columns.get(name);
      if (values === undefined) {
        if (fileColumns.includes(name)) {
          throw new DataError({ file: path, column: name }, 'was not read (it was not among the columns asked for)');
        }
        throw new DataError(
          { file: path, column: name },
          `no such column; the file has ${fileColumns.length === 0 ? 'no columns' : fileColumns.map((c) => JSON.stringify(c)).join(', ')}`,
        );
      }
      return values;
    },
    rowPlace,
  };
}
