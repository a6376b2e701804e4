/**
 * CSV with a header row, parsed by csv-parse (quotes, embedded newlines, a BOM). Every value is a
 * string: the tasks decide what is a number. Rows are named by the line they start on.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { DataError } from './dataError.ts';
import { readText } from './jsonlTable.ts';
import { columnTable } from './columnTable.ts';
import type { Table } from './table.ts';

export async function readCsvTable(path: string): Promise<Table> {
  const text = await readText(path);
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, info: true }) as unknown as typeof records;
  } catch (e) {
    if (e instanceof CsvError) {
      const line = (e as CsvError & { lines?: number }).lines;
      throw new DataError({ file: path, row: line === undefined ? undefined : `line ${line}` }, `bad CSV: ${e.message}`);
    }
    throw e;
  }
  if (records.length === 0) throw new DataError({ file: path }, 'empty CSV file: expected a header row');
  const header = records[0]!.record;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new DataError({ file: path, row: 'line 1', column: name }, 'the header names this column twice');
    seen.add(name);
  }
  const body = records.slice(1);
  const columns = new Map<string, string[]>();
  header.forEach((name, c) => columns.set(name, body.map((r) => r.record[c]!)));
  // info.lines is the line a record ends on; a record starts where the previous one ended, plus one.
  const startLine = body.map((_, i) => records[i]!.info.lines + 1);
  return columnTable(path, columns, body.length, (index) => `line ${startLine[index]}`);
}
