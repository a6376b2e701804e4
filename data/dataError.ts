/**
 * The one error type of the bring-your-own-data path: it names the file and, where it applies, the row
 * and the column, so a user can find the bad value without a stack trace.
 */
export interface DataErrorPlace {
  /** The file being read (as the user named it). */
  file: string;
  /** Where in the file, as the reader words it ("line 7" for JSONL/CSV, "row 6" for Parquet). */
  row?: string;
  /** The column involved. */
  column?: string;
}

export class DataError extends Error {
  override name = 'DataError';
  readonly file: string;
  readonly row: string | undefined;
  readonly column: string | undefined;

  /** Message reads `file: row: column "c": what`, leaving out the parts that are not given. */
  constructor(place: DataErrorPlace, what: string) {
    const parts = [place.file];
    if (place.row !== undefined) parts.push(place.row);
    if (place.column !== undefined) parts.push(`column ${JSON.stringify(place.column)}`);
    super(`${parts.join(': ')}: ${what}`);
    this.file = place.file;
    this.row = place.row;
    this.column = place.column;
  }
}
