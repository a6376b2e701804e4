/**
 * Parquet, the format Hugging Face data sets ship in, read by hyparquet. Without hyparquet-compressors
 * hyparquet decompresses only UNCOMPRESSED and SNAPPY pages, so the codecs are checked against that up
 * front and any other is one DataError naming the file, the column and the codec. Top-level columns
 * come assembled: lists as arrays, structs as objects, INT64 as bigint.
 */
import { readFile } from 'node:fs/promises';
import { type ColumnData, type FileMetaData, parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import { DataError } from './dataError.ts';
import { columnTable } from './columnTable.ts';
import type { Table } from './table.ts';

/** Codecs hyparquet decodes by itself. */
export const PARQUET_CODECS: readonly string[] = ['UNCOMPRESSED', 'SNAPPY'];

export async function readParquetTable(path: string, only?: readonly string[]): Promise<Table> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DataError({ file: path }, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(file);
  } catch (e) {
    throw new DataError({ file: path }, `not a readable Parquet file (${(e as Error).message})`);
  }
  const names = parquetSchema(metadata).children.map((child) => child.element.name);
  const wanted = only === undefined ? names : names.filter((n) => only.includes(n));
  checkCodecs(path, metadata, wanted);
  const rowCount = Number(metadata.num_rows);
  const columns = new Map<string, unknown[]>(wanted.map((n) => [n, new Array<unknown>(rowCount)]));
  const onChunk = (chunk: ColumnData): void => {
    const target = columns.get(chunk.columnName);
    if (target === undefined) return;
    const data = chunk.columnData;
    // A chunk may reach past the rows asked for; keep what lands inside the table.
    const from = Math.max(chunk.rowStart, 0);
    const to = Math.min(chunk.rowEnd, rowCount);
    for (let r = from; r < to; r++) target[r] = data[r - chunk.rowStart];
  };
  if (wanted.length > 0) {
    try {
      await parquetRead({ file, metadata, columns: wanted, onChunk });
    } catch (e) {
      throw new DataError({ file: path }, `cannot decode Parquet data (${(e as Error).message})`);
    }
  }
  return columnTable(path, columns, rowCount, (index) => `row ${index + 1}`, names);
}

/** Every column chunk of the wanted columns must use a codec hyparquet has built in. */
function checkCodecs(path: string, metadata: FileMetaData, wanted: readonly string[]): void {
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (meta === undefined) continue;
      const top = meta.path_in_schema[0]!;
      if (!wanted.includes(top)) continue;
      if (!PARQUET_CODECS.includes(meta.codec)) {
        throw new DataError(
          { file: path, column: meta.path_in_schema.join('.') },
          `compressed with ${meta.codec}, which cannot be read here (supported: ${PARQUET_CODECS.join(', ')}); ` +
            're-save the file uncompressed or with snappy',
        );
      }
    }
  }
}
