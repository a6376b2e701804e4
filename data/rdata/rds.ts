/** readRDS(): a file holding one serialized R object, gzip'd or not. */
import { readFileSync } from 'node:fs';
import { decompressRdsFile } from './decompress.ts';
import type { RValue } from './types.ts';
import { unserialize, type UnserializeOptions } from './unserialize.ts';

export function readRds(path: string, options: UnserializeOptions = {}): RValue {
  return unserialize(decompressRdsFile(readFileSync(path), path), options);
}
