/** Errors of the R-data reader: a malformed or unsupported stream, told apart from I/O errors. */
export class RFormatError extends Error {
  override readonly name = 'RFormatError';
}

/** A well-formed stream that uses a feature this reader does not implement (bytecode, xz, …). */
export class RUnsupportedError extends Error {
  override readonly name = 'RUnsupportedError';
}
