/**
 * JSON Lines: one JSON object per line; blank lines are skipped. Columns are the union of the keys in
 * order of first appearance; a row without a key reads as undefined in that column.
 */
import { readFile } from 'node:fs/promises';
import { DataError } from './dataError.ts';
import { columnTable } from './columnTable.ts';
import type { Table } from './table.ts';

export async function readJsonlTable(path: string): Promise<Table> {
  const text = await readText(path);
  const lines = text.split('\n');
  const rows: Record<string, unknown>[] = [];
  const lineOfRow: number[] = [];
  const names = new Map<string, true>();
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new DataError({ file: path, row: `line ${i + 1}` }, `not valid JSON (${(e as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DataError({ file: path, row: `line ${i + 1}` }, `expected a JSON object, got ${describe(value)}`);
    }
    for (const key of Object.keys(value)) names.set(key, true);
    rows.push(value as Record<string, unknown>);
    lineOfRow.push(i + 1);
  });
  const columns = new Map<string, unknown[]>();
  for (const name of names.keys()) columns.set(name, rows.map((row) => row[name]));
  return columnTable(path, columns, rows.length, (index) => `line ${lineOfRow[index]}`);
}

/** The file's text, a missing or unreadable file being a DataError. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new DataError({ file: path }, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
