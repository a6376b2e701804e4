/**
 * The R-data reader against streams encoded by hand here, byte by byte, following the layout of R's
 * serialize.c (flags word = type | object 1<<8 | attributes 1<<9 | tag 1<<10 | levels<<12), so the
 * reader is checked against the format, not against itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NA_INTEGER,
  RFormatError,
  RUnsupportedError,
  asDataFrame,
  isNAReal,
  readLazyLoadDb,
  readRds,
  unserialize,
  unserializeWithHeader,
  type RValue,
} from '../../data/rdata/index.ts';
import { decompressLazyLoadEntry } from '../../data/rdata/decompress.ts';
import { decodeLzma2 } from '../../data/rdata/lzma2.ts';

// ---- hand encoding ---------------------------------------------------------------------------------
const OBJ = 1 << 8;
const ATTR = 1 << 9;
const TAG = 1 << 10;
const ASCII = 64 << 12;
const UTF8 = 8 << 12;
const LATIN1 = 4 << 12;

const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const int = (...vs: number[]): Uint8Array => {
  const b = Buffer.alloc(4 * vs.length);
  vs.forEach((v, i) => b.writeInt32BE(v, 4 * i));
  return new Uint8Array(b);
};
const dbl = (...vs: number[]): Uint8Array => {
  const b = Buffer.alloc(8 * vs.length);
  vs.forEach((v, i) => b.writeDoubleBE(v, 8 * i));
  return new Uint8Array(b);
};
/** R's NA_real_: a NaN whose low word is 1954. */
const NA_REAL_BYTES = new Uint8Array([0x7f, 0xf0, 0, 0, 0, 0, 0x07, 0xa2]);
const NIL = int(254);
const chr = (s: string | null, enc = ASCII, encoding: BufferEncoding = 'utf8'): Uint8Array => {
  if (s === null) return int(9, -1);
  const bytes = Buffer.from(s, encoding);
  return cat(int(9 | enc, bytes.length), bytes);
};
const sym = (name: string): Uint8Array => cat(int(1), chr(name));
const ref = (index: number): Uint8Array => int((index << 8) | 255);
const str = (xs: (string | null)[], flags = 0): Uint8Array => cat(int(16 | flags, xs.length), ...xs.map((x) => chr(x)));
/** A tagged pairlist cell (used for attribute lists): flags, tag, value; the caller ends it with NIL. */
const cell = (tag: Uint8Array, value: Uint8Array): Uint8Array => cat(int(2 | TAG), tag, value);
const headerV3 = cat(Buffer.from('X\n'), int(3, 0x040202, 0x030500, 5), Buffer.from('UTF-8'));
const headerV2 = cat(Buffer.from('X\n'), int(2, 0x030602, 0x020300));

/**
 * data.frame(fruit = factor(c("apple","pear",NA,"apple")), n = c(3L,NA,7L,-1L),
 *            note = c("crisp",NA,"café","x"), stringsAsFactors = FALSE)
 * Symbols enter the reference table as first written: levels=1, class=2, names=3, row.names=4.
 */
const tinyDataFrame = cat(
  int(19 | OBJ | ATTR, 3),
  // fruit: a factor
  int(13 | OBJ | ATTR, 4, 1, 2, NA_INTEGER, 1),
  cell(sym('levels'), str(['apple', 'pear'])),
  cell(sym('class'), str(['factor'])),
  NIL,
  // n: integers with an NA
  int(13, 4, 3, NA_INTEGER, 7, -1),
  // note: characters with NA and a UTF-8 string
  int(16, 4), chr('crisp'), chr(null), chr('café', UTF8), chr('x'),
  // the data.frame's attributes
  cell(sym('names'), str(['fruit', 'n', 'note'])),
  cell(ref(2), str(['data.frame'])),
  cell(sym('row.names'), int(13, 2, NA_INTEGER, -4)),
  NIL,
);

const expectedColumns = {
  fruit: ['apple', 'pear', null, 'apple'],
  n: [3, Number.NaN, 7, -1],
  note: ['crisp', null, 'café', 'x'],
};

/** An ALTREP object: info pairlist (class sym, package sym, type int), state, attributes. */
const altrep = (className: string, type: number, state: Uint8Array, attributes = NIL): Uint8Array =>
  cat(int(238), int(2), sym(className), int(2), sym('base'), int(2), int(13, 1, type), NIL, state, attributes);

// ---- tests -------------------------------------------------------------------------------------------
describe('unserialize', () => {
  it('reads a version-3 data.frame with a factor, an integer column with NA and a character column with NA', () => {
    const { header, value } = unserializeWithHeader(cat(headerV3, tinyDataFrame));
    expect(header).toEqual({ version: 3, writerVersion: '4.2.2', nativeEncoding: 'UTF-8' });
    expect(asDataFrame(value)).toEqual(expectedColumns);
  });

  it('keeps R attributes in order and resolves a REFSXP back to the symbol it names', () => {
    const v = unserialize(cat(headerV3, tinyDataFrame));
    expect(v.kind).toBe('list');
    if (v.kind !== 'list') return;
    expect([...v.attributes.keys()]).toEqual(['names', 'class', 'row.names']);
    const rowNames = v.attributes.get('row.names');
    expect(rowNames?.kind === 'integer' && Array.from(rowNames.data)).toEqual([NA_INTEGER, -4]);
  });

  it('reads version 2 (no native-encoding field) and decodes Latin-1-marked strings', () => {
    const v = unserialize(cat(headerV2, int(16, 2), chr('café', LATIN1, 'latin1'), chr('naïve', UTF8)));
    expect(v.kind === 'character' && v.data).toEqual(['café', 'naïve']);
  });

  it('tells R NA_real_ apart from an ordinary NaN in double vectors', () => {
    const v = unserialize(cat(headerV3, int(14, 4), dbl(1.5), NA_REAL_BYTES, dbl(Number.NaN), dbl(-2)));
    expect(v.kind).toBe('double');
    if (v.kind !== 'double') return;
    expect([0, 1, 2, 3].map((i) => isNAReal(v.data, i))).toEqual([false, true, false, false]);
    expect(v.data[0]).toBe(1.5);
    expect(v.data[3]).toBe(-2);
  });

  it('expands ALTREP compact_intseq, compact_realseq, deferred_string and wrap_real', () => {
    const intseq = unserialize(cat(headerV3, altrep('compact_intseq', 13, cat(int(14, 3), dbl(5, 10, -2)))));
    expect(intseq.kind === 'integer' && Array.from(intseq.data)).toEqual([10, 8, 6, 4, 2]);
    const realseq = unserialize(cat(headerV3, altrep('compact_realseq', 14, cat(int(14, 3), dbl(3, 0.5, 1)))));
    expect(realseq.kind === 'double' && Array.from(realseq.data)).toEqual([0.5, 1.5, 2.5]);
    // deferred_string state: CONS(the integer vector, scipen info)
    const deferred = unserialize(
      cat(headerV3, altrep('deferred_string', 16, cat(int(2), int(13, 3, 7, NA_INTEGER, -12), int(13, 1, 0)))),
    );
    expect(deferred.kind === 'character' && deferred.data).toEqual(['7', null, '-12']);
    // wrap_real state: list2(x, meta); the ALTREP's own attributes win.
    const names = cat(cell(sym('names'), str(['a', 'b'])), NIL);
    const wrapped = unserialize(
      cat(headerV3, altrep('wrap_real', 14, cat(int(2), int(14, 2), dbl(1, 2), int(2), int(13, 2, 0, 0), NIL), names)),
    );
    expect(wrapped.kind).toBe('double');
    expect(wrapped.kind === 'double' && [Array.from(wrapped.data), wrapped.attributes.get('names')]).toEqual([
      [1, 2],
      { kind: 'character', data: ['a', 'b'], attributes: new Map() },
    ]);
  });

  it('names the ALTREP class it cannot expand', () => {
    const bytes = cat(headerV3, altrep('mmap_integer', 13, NIL));
    expect(() => unserialize(bytes)).toThrow(RUnsupportedError);
    expect(() => unserialize(bytes)).toThrow(/mmap_integer/);
  });

  it('reads an environment that contains itself, registered before its contents', () => {
    // env <- new.env(); env$self <- env; env$x <- 1L   (enclos globalenv, no hash table)
    const bytes = cat(headerV3, int(4, 0), int(253), cell(sym('self'), ref(1)), cell(sym('x'), int(13, 1, 1)), NIL, NIL, NIL);
    const env = unserialize(bytes);
    expect(env.kind).toBe('environment');
    if (env.kind !== 'environment') return;
    expect(env.bindings.get('self')).toBe(env);
    expect(env.enclosure).toMatchObject({ kind: 'environment', origin: 'global' });
    expect(env.bindings.get('x')).toMatchObject({ kind: 'integer', data: Int32Array.from([1]) });
  });

  it('rejects streams that are not XDR, truncated, or of an unknown version with clear errors', () => {
    expect(() => unserialize(Buffer.from('A\n3\n'))).toThrow(/ASCII.*not supported/);
    expect(() => unserialize(Buffer.from('PK\x03\x04'))).toThrow(RFormatError);
    expect(() => unserialize(cat(headerV3, int(13, 5, 1, 2)))).toThrow(/truncated/);
    expect(() => unserialize(cat(Buffer.from('X\n'), int(4, 0, 0)))).toThrow(/version 4/);
  });
});

describe('lazy-load databases', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swaglet-rdata-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** One .rdb entry as R's R_compress1 writes it: big-endian uncompressed length, then zlib. */
  const zlibEntry = (payload: Uint8Array): Uint8Array => cat(int(payload.length), deflateSync(payload));
  const keyPair = (name: string, offset: number, length: number): Uint8Array => cat(int(13, 2, offset, length));
  /** list(variables = list(...), references = list(...), compressed = TRUE), as saveRDS writes it, gzip'd. */
  const index = (variables: [string, number, number][], references: [string, number, number][], compressed: Uint8Array) => {
    const namedKeys = (entries: [string, number, number][], names: Uint8Array) =>
      entries.length === 0
        ? int(19, 0)
        : cat(int(19 | ATTR, entries.length), ...entries.map((e) => keyPair(...e)), cell(names, str(entries.map((e) => e[0]))), NIL);
    return gzipSync(
      cat(
        headerV3,
        int(19 | ATTR, 3),
        namedKeys(variables, sym('names')),
        namedKeys(references, ref(1)),
        compressed,
        cell(ref(1), str(['variables', 'references', 'compressed'])),
        NIL,
      ),
    );
  };

  it('loads each variable of a zlib-compressed database by its (offset, length) key', () => {
    const tiny = zlibEntry(cat(headerV3, tinyDataFrame));
    const numbers = zlibEntry(cat(headerV3, int(14, 2), dbl(0.25), NA_REAL_BYTES));
    // A persistent reference to an environment stored under references, used twice.
    const persist = cat(int(247), int(0, 1), chr('env::1'));
    const withEnv = zlibEntry(cat(headerV3, int(19, 2), persist, ref(1)));
    // makeLazyLoadDB's environment record: list(bindings, enclos, attributes, isS4, locked)
    const envRecord = zlibEntry(
      cat(
        headerV3,
        int(19 | ATTR, 5),
        cat(int(19 | ATTR, 1), int(13, 1, 42), cell(sym('names'), str(['answer'])), NIL),
        int(253),
        NIL,
        int(10, 1, 0),
        int(10, 1, 1),
        cell(ref(1), str(['bindings', 'enclos', 'attributes', 'isS4', 'locked'])),
        NIL,
      ),
    );
    const parts = [tiny, numbers, withEnv, envRecord];
    const offsets = parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.length, 0));
    writeFileSync(join(dir, 'Rdata.rdb'), cat(...parts));
    writeFileSync(
      join(dir, 'Rdata.rdx'),
      index(
        [
          ['tiny', offsets[0]!, tiny.length],
          ['numbers', offsets[1]!, numbers.length],
          ['withEnv', offsets[2]!, withEnv.length],
        ],
        [['env::1', offsets[3]!, envRecord.length]],
        int(10, 1, 1),
      ),
    );

    const db = readLazyLoadDb(dir);
    expect([...db.keys()]).toEqual(['tiny', 'numbers', 'withEnv']);
    expect(asDataFrame(db.get('tiny')!())).toEqual(expectedColumns);
    const numbersValue = db.get('numbers')!();
    expect(numbersValue.kind === 'double' && [numbersValue.data[0], isNAReal(numbersValue.data, 1)]).toEqual([0.25, true]);
    const pair = db.get('withEnv')!();
    expect(pair.kind).toBe('list');
    if (pair.kind !== 'list') return;
    const [env, again] = pair.items as RValue[];
    expect(again).toBe(env);
    expect(env).toMatchObject({ kind: 'environment', origin: 'persistent', locked: true });
    if (env?.kind !== 'environment') return;
    expect(env.bindings.get('answer')).toMatchObject({ kind: 'integer', data: Int32Array.from([42]) });
  });

  it('reads the index with readRds whether gzip-compressed or not', () => {
    const plain = cat(headerV3, int(13, 1, 5));
    writeFileSync(join(dir, 'plain.rds'), plain);
    writeFileSync(join(dir, 'gz.rds'), gzipSync(plain));
    for (const f of ['plain.rds', 'gz.rds']) expect(readRds(join(dir, f))).toMatchObject({ kind: 'integer', data: Int32Array.from([5]) });
  });

  it('says which file is missing', () => {
    expect(() => readLazyLoadDb(join(dir, 'nowhere'))).toThrow(/Rdata\.rdx not found/);
  });
});

describe('lazy-load entry decompression', () => {
  const payload = cat(headerV3, int(16, 1), chr('hello'));
  it('handles stored (type 0) and zlib (type 1) entries of the bzip2/xz modes', () => {
    for (const mode of [2, 3]) {
      expect(decompressLazyLoadEntry(cat(int(payload.length), Buffer.from('0'), payload), mode, 'x')).toEqual(payload);
      expect(decompressLazyLoadEntry(cat(int(payload.length), Buffer.from('1'), deflateSync(payload)), mode, 'x')).toEqual(payload);
    }
  });

  it('reports bzip2 entries as unsupported and a wrong length header as corrupt', () => {
    expect(() => decompressLazyLoadEntry(cat(int(10), Buffer.from('2BZh9')), 2, 'var x')).toThrow(/var x is bzip2-compressed/);
    expect(() => decompressLazyLoadEntry(cat(int(payload.length + 1), deflateSync(payload)), 1, 'var x')).toThrow(/header says/);
  });

  const xz = spawnSync('xz', ['--version'], { encoding: 'utf8' });
  it.skipIf(xz.status !== 0)('decodes raw LZMA2 streams made by xz (the type Z entries R package data uses)', () => {
    // Mixed content: repetitive text (long matches, reps) and random bytes (literals), long enough to
    // span several LZMA2 chunks (2 MiB uncompressed / 64 KiB compressed each), ending in a random
    // block that xz stores as uncompressed chunks.
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < 60; i++) {
      pieces.push(Buffer.from(`review ${i % 7}: this product is ${i % 3 ? 'great' : 'other'} `.repeat(500 + i * 37)));
      pieces.push(Uint8Array.from({ length: 2000 + 500 * (i % 5) }, rand));
    }
    pieces.push(Uint8Array.from({ length: 150_000 }, rand)); // incompressible: stored (uncompressed) chunks
    const original = cat(...pieces);
    for (const preset of ['0', '6']) {
      const out = spawnSync('xz', ['--format=raw', `--lzma2=preset=${preset}`, '-c'], { input: original, maxBuffer: 1 << 26 });
      expect(out.status).toBe(0);
      expect(Buffer.from(decodeLzma2(out.stdout, original.length)).equals(Buffer.from(original))).toBe(true);
      // As a type-Z lazy-load entry in xz mode.
      const entry = cat(int(original.length), Buffer.from('Z'), out.stdout);
      expect(decompressLazyLoadEntry(entry, 3, 'x').length).toBe(original.length);
    }
    expect(() => decodeLzma2(spawnSync('xz', ['--format=raw', '-c'], { input: original }).stdout, original.length - 1)).toThrow(RFormatError);
  });
});
