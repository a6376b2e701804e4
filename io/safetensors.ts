/**
 * safetensors reader/writer (the Hugging Face format), plain file I/O.
 *
 * Layout: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * header, then the raw little-endian data section.  The header maps tensor
 * names to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to
 * the start of the data section) plus an optional `__metadata__` object of
 * string → string.  The writer pads the header with spaces so the data starts
 * 8-byte aligned, emits `__metadata__` first, then tensors sorted by name
 * (UTF-16 code-unit order), laid out contiguously in that order.
 *
 * The reader accepts any order of tensors and validates that the data
 * section is covered exactly (no gaps, no overlaps, nothing out of range).
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'U8' | 'BOOL';

export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64', 'I32', 'I64', 'U8', 'BOOL'];

/** Bytes per element. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I32: 4,
  I64: 8,
  U8: 1,
  BOOL: 1,
};

/**
 * What the writer accepts. F32/F16/BF16 values are rounded to the dtype (round to nearest even),
 * except that a Uint16Array given for F16 or BF16 holds the raw bits and is written as it is.
 */
export interface TensorInput {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Row-major elements: numbers for all dtypes; bigints also for I64; booleans also for BOOL. */
  data: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>;
}

export type TensorArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/**
 * What the reader returns.  F32/F16/BF16 → Float32Array, F64 → Float64Array,
 * I32 → Int32Array, I64 → BigInt64Array (or Float64Array with `i64: 'number'`),
 * U8/BOOL → Uint8Array (BOOL as 0/1).  Arrays are fresh copies.
 */
export interface DecodedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorArray;
}

export interface DecodedSafetensors {
  tensors: Record<string, DecodedTensor>;
  metadata: Record<string, string>;
}

export interface DecodeOptions {
  /** Name used in error messages (the file path); default `<buffer>`. */
  source?: string;
  /** How I64 is returned: BigInt64Array (default) or a Float64Array of safe integers (range-checked). */
  i64?: 'bigint' | 'number';
}

export class SafetensorsError extends Error {
  readonly source: string;
  constructor(source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = 'SafetensorsError';
    this.source = source;
  }
}

/** Reference implementation's cap on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------
// Half precision conversions
// ---------------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary16 bits → number (exact). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** float32 bit pattern → binary16 bits, round to nearest even; NaN stays (quiet) NaN. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero). Value in units of 2^-24 is m24 >> (14 - e).
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal
    const m = mant | 0x800000;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // carry may reach 0x7c00 = inf
  return sign | half;
}

/** number → binary16 bits (via float32, then round to nearest even). */
export function numberToF16Bits(v: number): number {
  f32Scratch[0] = v;
  return f32BitsToF16Bits(u32Scratch[0]!);
}

/** bfloat16 bits → number (exact). */
export function bf16BitsToNumber(b: number): number {
  u32Scratch[0] = (b & 0xffff) << 16;
  return f32Scratch[0]!;
}

function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x0040) & 0xffff; // quiet NaN
  const lsb = (x >>> 16) & 1;
  return Math.floor((x + 0x7fff + lsb) / 0x10000) & 0xffff;
}

/** number → bfloat16 bits (via float32, then round to nearest even). */
export function numberToBf16Bits(v: number): number {
  f32Scratch[0] = v;
  return f32BitsToBf16Bits(u32Scratch[0]!);
}

let f16Table: Float32Array | undefined;
/** binary16 bits → float32 value, for all 65,536 patterns (built once). */
export function f16Lookup(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToNumber(i);
  }
  return f16Table;
}

/** Plain-object assignment that is safe for keys like `__proto__`. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

function isDtype(d: unknown): d is SafetensorsDtype {
  return typeof d === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(d);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function encodeTensorData(name: string, t: TensorInput, out: Uint8Array, src: string): void {
  const data = t.data;
  const n = data.length;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const bad = (i: number, why: string): never => {
    throw new SafetensorsError(src, `tensor '${name}' (${t.dtype}): element ${i} ${why}`);
  };
  const num = (i: number): number => {
    const v = data[i];
    if (typeof v !== 'number') bad(i, `is a ${typeof v}, expected a number`);
    return v as number;
  };
  switch (t.dtype) {
    case 'F32': {
      if (data instanceof Float32Array && HOST_LE) {
        out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } else for (let i = 0; i < n; i++) dv.setFloat32(i * 4, num(i), true);
      return;
    }
    case 'F64': {
      if (data instanceof Float64Array && HOST_LE) {
        out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } else for (let i = 0; i < n; i++) dv.setFloat64(i * 8, num(i), true);
      return;
    }
    case 'F16':
    case 'BF16': {
      if (data instanceof Uint16Array) {
        for (let i = 0; i < n; i++) dv.setUint16(i * 2, data[i]!, true);
        return;
      }
      const conv = t.dtype === 'F16' ? f32BitsToF16Bits : f32BitsToBf16Bits;
      let f32: Float32Array;
      if (data instanceof Float32Array) f32 = data;
      else {
        f32 = new Float32Array(n);
        for (let i = 0; i < n; i++) f32[i] = num(i);
      }
      const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
      for (let i = 0; i < n; i++) dv.setUint16(i * 2, conv(bits[i]!), true);
      return;
    }
    case 'I32': {
      if (data instanceof Int32Array && HOST_LE) {
        out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        return;
      }
      for (let i = 0; i < n; i++) {
        const v = num(i);
        if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) bad(i, `= ${v} is not an int32`);
        dv.setInt32(i * 4, v, true);
      }
      return;
    }
    case 'I64': {
      for (let i = 0; i < n; i++) {
        const v = data[i];
        let b: bigint;
        if (typeof v === 'bigint') {
          if (v < -(1n << 63n) || v >= 1n << 63n) bad(i, `= ${v} is out of int64 range`);
          b = v;
        } else if (typeof v === 'number') {
          if (!Number.isSafeInteger(v)) bad(i, `= ${v} is not a safe integer`);
          b = BigInt(v);
        } else return bad(i, `is a ${typeof v}, expected a number or bigint`);
        dv.setBigInt64(i * 8, b, true);
      }
      return;
    }
    case 'U8': {
      for (let i = 0; i < n; i++) {
        const v = num(i);
        if (!Number.isInteger(v) || v < 0 || v > 255) bad(i, `= ${v} is not a uint8`);
        out[i] = v;
      }
      return;
    }
    case 'BOOL': {
      for (let i = 0; i < n; i++) {
        const v = data[i];
        if (v === true || v === 1) out[i] = 1;
        else if (v === false || v === 0) out[i] = 0;
        else bad(i, `= ${String(v)} is not a boolean (true/false/0/1)`);
      }
      return;
    }
  }
}

/** Serialize tensors (sorted by name) and optional string metadata to safetensors bytes. */
export function encodeSafetensors(
  tensors: Readonly<Record<string, TensorInput>>,
  metadata?: Readonly<Record<string, string>>,
  source = '<buffer>',
): Uint8Array {
  const names = Object.keys(tensors).sort(compareNames);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new SafetensorsError(source, `metadata must be an object of strings`);
    }
    const md: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(source, `metadata value for '${k}' must be a string, got ${typeof v}`);
      setOwn(md, k, v);
    }
    header.__metadata__ = md;
  }
  let offset = 0;
  const spans: [number, number][] = [];
  for (const name of names) {
    const t = tensors[name]!;
    if (name === '__metadata__') throw new SafetensorsError(source, `'__metadata__' is reserved and cannot name a tensor`);
    if (name === '') throw new SafetensorsError(source, `tensor names must be non-empty`);
    if (!t || typeof t !== 'object') throw new SafetensorsError(source, `tensor '${name}' is not an object`);
    if (!isDtype(t.dtype)) {
      throw new SafetensorsError(source, `tensor '${name}': unknown dtype '${String(t.dtype)}' (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(source, `tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    if (t.data == null || typeof t.data.length !== 'number') {
      throw new SafetensorsError(source, `tensor '${name}': data must be an array or typed array`);
    }
    const count = elementCount(t.shape);
    if (count !== t.data.length) {
      throw new SafetensorsError(
        source,
        `tensor '${name}': shape [${t.shape.join(', ')}] has ${count} elements but data has ${t.data.length}`,
      );
    }
    const bytes = count * DTYPE_SIZE[t.dtype];
    if (!Number.isSafeInteger(offset + bytes)) throw new SafetensorsError(source, `tensor '${name}' is too large`);
    spans.push([offset, offset + bytes]);
    setOwn(header, name, { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] });
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  const dataStart = 8 + padded;
  names.forEach((name, i) => {
    const [b, e] = spans[i]!;
    encodeTensorData(name, tensors[name]!, out.subarray(dataStart + b, dataStart + e), source);
  });
  return out;
}

// ---------------------------------------------------------------------------
// Strict JSON parsing (JSON.parse silently drops duplicate keys)
// ---------------------------------------------------------------------------

class JsonParser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly fail: (msg: string) => never,
  ) {}

  parseDocument(): unknown {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i < this.s.length) this.fail(`invalid JSON header: unexpected '${this.s[this.i]}' at position ${this.i}`);
    return v;
  }

  private ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  private err(what: string): never {
    return this.i >= this.s.length
      ? this.fail(`invalid JSON header: unexpected end while reading ${what}`)
      : this.fail(`invalid JSON header: unexpected '${this.s[this.i]}' at position ${this.i} while reading ${what}`);
  }

  private value(depth: number): unknown {
    if (depth > 64) this.fail('invalid JSON header: nested too deeply');
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(lit, this.i)) {
        this.i += lit.length;
        return v;
      }
    }
    return this.err('a value');
  }

  private object(depth: number): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    const seen = new Set<string>();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.err('an object key');
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key '${key}' in header`);
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ':') this.err("':'");
      this.i++;
      this.ws();
      out[key] = this.value(depth + 1);
      this.ws();
      const c = this.s[this.i];
      this.i++;
      if (c === '}') return out;
      if (c !== ',') {
        this.i--;
        this.err("',' or '}'");
      }
    }
  }

  private array(depth: number): unknown[] {
    this.i++;
    const out: unknown[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i];
      this.i++;
      if (c === ']') return out;
      if (c !== ',') {
        this.i--;
        this.err("',' or ']'");
      }
    }
  }

  private number(): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) return this.err('a number');
    this.i += m[0].length;
    return Number(m[0]);
  }

  private string(): string {
    const start = this.i;
    this.i++;
    let out = '';
    for (;;) {
      const j = this.i;
      while (this.i < this.s.length) {
        const c = this.s.charCodeAt(this.i);
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        this.i++;
      }
      out += this.s.slice(j, this.i);
      if (this.i >= this.s.length) {
        this.i = start;
        return this.fail(`invalid JSON header: unterminated string at position ${start}`);
      }
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c !== '\\') return this.err('a string (control character)');
      const e = this.s[this.i + 1];
      this.i += 2;
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'u') {
        const hex = this.s.slice(this.i, this.i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(`invalid JSON header: bad \\u escape at position ${this.i - 2}`);
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 4;
      } else {
        this.i -= 2;
        this.fail(`invalid JSON header: bad escape at position ${this.i}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

type Entry = SafetensorsHeaderEntry;

function copyBytes(bytes: Uint8Array, begin: number, end: number): ArrayBuffer {
  const buf = new ArrayBuffer(end - begin);
  new Uint8Array(buf).set(bytes.subarray(begin, end));
  return buf;
}

function decodeTensorData(e: Entry, bytes: Uint8Array, start: number, opts: DecodeOptions, src: string): TensorArray {
  const b = start + e.begin;
  const n = (e.end - e.begin) / DTYPE_SIZE[e.dtype];
  const dv = new DataView(bytes.buffer, bytes.byteOffset + b, e.end - e.begin);
  switch (e.dtype) {
    case 'F32': {
      if (HOST_LE) return new Float32Array(copyBytes(bytes, b, b + n * 4));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      if (HOST_LE) return new Float64Array(copyBytes(bytes, b, b + n * 8));
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'I32': {
      if (HOST_LE) return new Int32Array(copyBytes(bytes, b, b + n * 4));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case 'F16': {
      const table = f16Lookup();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[dv.getUint16(i * 2, true)]!;
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'I64': {
      const big = HOST_LE ? new BigInt64Array(copyBytes(bytes, b, b + n * 8)) : new BigInt64Array(n);
      if (!HOST_LE) for (let i = 0; i < n; i++) big[i] = dv.getBigInt64(i * 8, true);
      if (opts.i64 !== 'number') return big;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = big[i]!;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new SafetensorsError(src, `tensor '${e.name}' (I64): element ${i} = ${v} is outside the safe integer range of a JS number`);
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'U8':
      return new Uint8Array(copyBytes(bytes, b, e.end + start));
    case 'BOOL': {
      const out = new Uint8Array(copyBytes(bytes, b, e.end + start));
      for (let i = 0; i < n; i++) {
        if (out[i]! > 1) throw new SafetensorsError(src, `tensor '${e.name}' (BOOL): element ${i} has byte value ${out[i]}, expected 0 or 1`);
      }
      return out;
    }
  }
}

/** One tensor of a safetensors header; `begin`/`end` are byte offsets into the data section. */
export interface SafetensorsHeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A parsed and validated header: tensors in header order, metadata, where the data section starts. */
export interface SafetensorsHeader {
  entries: SafetensorsHeaderEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data section from the start of the file (8 + header length). */
  dataStart: number;
}

/** The header length a file's first 8 bytes announce (validated against the file's length). */
export function safetensorsHeaderLength(prefix: Uint8Array, fileLength: number, source = '<buffer>'): number {
  if (fileLength < 8 || prefix.length < 8) throw new SafetensorsError(source, `file is ${fileLength} bytes, too short for the 8-byte header length`);
  const n64 = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(fileLength - 8)) {
    throw new SafetensorsError(source, `header length ${n64} runs beyond the end of the file (${fileLength - 8} bytes after the length prefix)`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) throw new SafetensorsError(source, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) throw new SafetensorsError(source, `header length ${n} is too small to hold a JSON object`);
  return n;
}

/**
 * Parses and validates the header of a safetensors file of `fileLength` bytes from its first
 * bytes (`prefix`: at least the 8-byte length and the header), without needing the data section:
 * what a lazy reader needs to read only some tensors.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileLength: number, source = '<buffer>'): SafetensorsHeader {
  const src = source;
  const fail = (msg: string): never => {
    throw new SafetensorsError(src, msg);
  };
  const n = safetensorsHeaderLength(prefix, fileLength, src);
  if (prefix.length < 8 + n) fail(`only ${prefix.length} bytes given to parse a header of ${n} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(prefix.subarray(8, 8 + n));
  } catch {
    return fail('invalid JSON header: not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`invalid JSON header: must start with '{'`);
  const header = new JsonParser(text, fail).parseDocument();
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('invalid JSON header: not an object');
  const start = 8 + n;
  const dataLen = fileLength - start;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`'__metadata__' must be an object of strings`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`'__metadata__' value for '${k}' must be a string, got ${JSON.stringify(v)}`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`tensor '${name}': header entry is not an object`);
    const info = raw as Record<string, unknown>;
    const extra = Object.keys(info).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (extra.length) fail(`tensor '${name}': unexpected field(s) ${extra.map((k) => `'${k}'`).join(', ')}`);
    const dtype = info.dtype;
    if (!isDtype(dtype)) fail(`tensor '${name}': unknown dtype ${JSON.stringify(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      fail(`tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      fail(`tensor '${name}': data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(`tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) fail(`tensor '${name}': data_offsets [${begin}, ${end}] are out of range (data section is ${dataLen} bytes)`);
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    const want = count * DTYPE_SIZE[dtype as SafetensorsDtype];
    if (want !== end - begin) {
      fail(
        `tensor '${name}': shape [${(shape as number[]).join(', ')}] × ${dtype} (${DTYPE_SIZE[dtype as SafetensorsDtype]} bytes) = ${want} bytes, ` +
          `but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end });
  }

  // The tensors must tile the data section exactly: no overlaps, no gaps, nothing left over.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | undefined;
  for (const e of byOffset) {
    if (e.begin < pos) fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap tensor '${prev!.name}' [${prev!.begin}, ${prev!.end}]`);
    if (e.begin > pos) fail(`gap in the data section: bytes [${pos}, ${e.begin}) belong to no tensor (before tensor '${e.name}')`);
    pos = e.end;
    prev = e;
  }
  if (pos !== dataLen) fail(`tensors cover ${pos} bytes of data but the data section is ${dataLen} bytes`);

  return { entries, metadata, dataStart: start };
}

/** Parse and validate safetensors bytes. */
export function decodeSafetensors(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedSafetensors {
  const src = opts.source ?? '<buffer>';
  if (!(bytes instanceof Uint8Array)) throw new SafetensorsError(src, 'expected a Uint8Array');
  const { entries, metadata, dataStart: start } = parseSafetensorsHeader(bytes, bytes.length, src);
  const tensors: Record<string, DecodedTensor> = {};
  for (const e of entries) {
    setOwn(tensors, e.name, { dtype: e.dtype, shape: e.shape, data: decodeTensorData(e, bytes, start, opts, src) });
  }
  return { tensors, metadata };
}

/** Encode and write atomically (temp file + fsync + rename). */
export async function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, TensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}

/** Read and validate a safetensors file; errors name the file. */
export async function readSafetensors(path: string, opts: Omit<DecodeOptions, 'source'> = {}): Promise<DecodedSafetensors> {
  const bytes = await readFile(path);
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { ...opts, source: path });
}
