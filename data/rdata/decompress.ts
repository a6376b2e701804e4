/**
 * The two compressed wrappers R puts around serialized objects:
 * - whole files from saveRDS() (and a lazy-load database's `.rdx` index): gzip, bzip2, xz or none,
 *   told apart by their magic bytes;
 * - each object in a lazy-load `.rdb`: a 4-byte big-endian uncompressed length, then (for
 *   `compressed` = 1) zlib data, or (2: bzip2 mode, 3: xz mode) one type byte and the data (R's
 *   R_decompress1/2/3 in src/main/serialize.c). Type bytes: '0' stored, '1' zlib, '2' bzip2, and in
 *   xz mode 'Z' for a raw LZMA2 stream — what R package data uses (checked on r-cran-modeldata,
 *   whose entries start 'Z', 0xE0-range LZMA2 control byte, properties 0x5D).
 * node:zlib covers gzip and zlib; LZMA2 is decoded by ./lzma2.ts; bzip2 is reported as unsupported.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { RFormatError, RUnsupportedError } from './errors.ts';
import { decodeLzma2 } from './lzma2.ts';

/** The bytes of a saveRDS()-style file, decompressed when gzip'd. */
export function decompressRdsFile(file: Uint8Array, path: string): Uint8Array {
  if (file[0] === 0x1f && file[1] === 0x8b) return asBytes(gunzipSync(file));
  if (file[0] === 0x42 && file[1] === 0x5a && file[2] === 0x68) {
    throw new RUnsupportedError(`${path} is bzip2-compressed; only gzip and uncompressed R files are supported`);
  }
  if (file[0] === 0xfd && file[1] === 0x37 && file[2] === 0x7a && file[3] === 0x58 && file[4] === 0x5a) {
    throw new RUnsupportedError(`${path} is xz-compressed; only gzip and uncompressed R files are supported`);
  }
  return file;
}

/** One object's bytes cut from a `.rdb`, decompressed per the database's `compressed` setting. */
export function decompressLazyLoadEntry(entry: Uint8Array, compressed: number, what: string): Uint8Array {
  if (compressed === 0) return entry;
  if (entry.length < 4) throw new RFormatError(`${what}: lazy-load entry of ${entry.length} bytes has no length header`);
  const expected = new DataView(entry.buffer, entry.byteOffset, 4).getUint32(0, false);
  let body = entry.subarray(4);
  if (compressed !== 1) {
    if (compressed !== 2 && compressed !== 3) throw new RFormatError(`${what}: unknown compression setting ${compressed}`);
    const type = String.fromCharCode(body[0] ?? 0);
    body = body.subarray(1);
    if (type === '0') return checkLength(body, expected, what);
    if (type === 'Z' && compressed === 3) return decodeLzma2(body, expected);
    if (type === '2') {
      throw new RUnsupportedError(`${what} is bzip2-compressed; only zlib, xz (LZMA2) and stored lazy-load entries are supported`);
    }
    if (type !== '1') throw new RFormatError(`${what}: unknown compression type byte ${JSON.stringify(type)} (compressed = ${compressed})`);
  }
  return checkLength(asBytes(inflateSync(body)), expected, what);
}

/** A plain Uint8Array view of a Buffer, so every path returns the same type. */
function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function checkLength(bytes: Uint8Array, expected: number, what: string): Uint8Array {
  if (bytes.length !== expected) {
    throw new RFormatError(`${what}: decompressed to ${bytes.length} bytes, header says ${expected}`);
  }
  return bytes;
}
