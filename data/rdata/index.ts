/** Reading R data without R: serialization (XDR v2/v3), .rds files, lazy-load databases, data frames. */
export { asDataFrame, factorLabels, type DataFrameColumn } from './dataFrame.ts';
export { RFormatError, RUnsupportedError } from './errors.ts';
export { LazyLoadDbMissingError, readLazyLoadDb } from './lazyLoadDb.ts';
export { readRds } from './rds.ts';
export * from './types.ts';
export { unserialize, unserializeWithHeader, type SerializationHeader, type UnserializeOptions } from './unserialize.ts';
