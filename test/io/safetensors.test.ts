import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bf16BitsToNumber,
  decodeSafetensors,
  encodeSafetensors,
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
  readSafetensors,
  SafetensorsError,
  writeSafetensors,
  type TensorInput,
} from '../../io/index.ts';

const enc = new TextEncoder();

/** Build a safetensors file byte by byte: u64 LE length, header text (as given, no padding), data. */
function craft(header: string, data: number[] | Uint8Array = []): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function f32le(...vals: number[]): number[] {
  const b = new Uint8Array(vals.length * 4);
  const dv = new DataView(b.buffer);
  vals.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return [...b];
}

function expectError(fn: () => unknown, re: RegExp, source = '<buffer>'): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message.startsWith(`${source}: `)).toBe(true);
    return;
  }
  throw new Error(`expected a SafetensorsError matching ${re}`);
}

describe('half-precision conversions', () => {
  it('decodes known F16 bit patterns', () => {
    expect(f16BitsToNumber(0x3c00)).toBe(1);
    expect(f16BitsToNumber(0x7bff)).toBe(65504);
    expect(f16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(f16BitsToNumber(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(f16BitsToNumber(0x0400)).toBe(2 ** -14); // smallest normal
    expect(Object.is(f16BitsToNumber(0x8000), -0)).toBe(true);
    expect(f16BitsToNumber(0x7c00)).toBe(Infinity);
    expect(f16BitsToNumber(0xfc00)).toBe(-Infinity);
    expect(f16BitsToNumber(0x7e00)).toBeNaN();
    expect(f16BitsToNumber(0xc000)).toBe(-2);
    expect(f16BitsToNumber(0x3555)).toBeCloseTo(0.333251953125, 12);
  });

  it('encodes F16 with round-to-nearest-even, subnormals, overflow, inf and nan', () => {
    expect(numberToF16Bits(1)).toBe(0x3c00);
    expect(numberToF16Bits(65504)).toBe(0x7bff);
    expect(numberToF16Bits(2 ** -24)).toBe(0x0001);
    expect(numberToF16Bits(-0)).toBe(0x8000);
    expect(numberToF16Bits(0)).toBe(0x0000);
    expect(numberToF16Bits(Infinity)).toBe(0x7c00);
    expect(numberToF16Bits(-Infinity)).toBe(0xfc00);
    const nan = numberToF16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    // Ties: 1 + 2^-11 is halfway between 1 and 1+2^-10 → even (1.0); 1 + 3·2^-11 → 1 + 2^-9 (even mantissa 2).
    expect(numberToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(numberToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(numberToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie rounds up
    // Overflow: 65519 rounds down to 65504, 65520 (the tie) rounds to even = inf.
    expect(numberToF16Bits(65519)).toBe(0x7bff);
    expect(numberToF16Bits(65520)).toBe(0x7c00);
    expect(numberToF16Bits(1e6)).toBe(0x7c00);
    // Subnormal rounding: 2^-25 is a tie between 0 and 2^-24 → 0; 3·2^-25 is a tie → 2·2^-24 (even).
    expect(numberToF16Bits(2 ** -25)).toBe(0x0000);
    expect(numberToF16Bits(-(2 ** -25))).toBe(0x8000);
    expect(numberToF16Bits(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(numberToF16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(numberToF16Bits(1e-10)).toBe(0x0000);
    // Largest subnormal + half ulp carries into the smallest normal.
    expect(numberToF16Bits(1023.5 * 2 ** -24)).toBe(0x0400);
  });

  it('F16 round-trips every finite bit pattern exactly', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >>> 10) & 0x1f;
      if (exp === 31 && (h & 0x3ff) !== 0) continue; // NaNs
      if (numberToF16Bits(f16BitsToNumber(h)) !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('converts BF16 bit patterns and rounds ties to even', () => {
    expect(bf16BitsToNumber(0x3f80)).toBe(1);
    expect(numberToBf16Bits(1)).toBe(0x3f80);
    expect(numberToBf16Bits(-2)).toBe(0xc000);
    expect(Object.is(bf16BitsToNumber(0x8000), -0)).toBe(true);
    expect(numberToBf16Bits(-0)).toBe(0x8000);
    expect(bf16BitsToNumber(0x7f80)).toBe(Infinity);
    expect(numberToBf16Bits(-Infinity)).toBe(0xff80);
    expect(bf16BitsToNumber(0x7fc0)).toBeNaN();
    const nan = numberToBf16Bits(NaN);
    expect(nan & 0x7f80).toBe(0x7f80);
    expect(nan & 0x7f).not.toBe(0);
    expect(bf16BitsToNumber(0x0001)).toBe(2 ** -133); // subnormal
    // 1 + 2^-8 is halfway between 1 (0x3f80) and 1+2^-7 (0x3f81) → even 0x3f80.
    expect(numberToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    // 1 + 3·2^-8 is halfway between 0x3f81 and 0x3f82 → even 0x3f82.
    expect(numberToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(numberToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    // Largest finite float32 rounds up to inf.
    expect(numberToBf16Bits(3.4028234663852886e38)).toBe(0x7f80);
  });
});

describe('safetensors round trips', () => {
  const tensors: Record<string, TensorInput> = {
    f32: { dtype: 'F32', shape: [3, 1, 2], data: new Float32Array([1, -2.5, 3e-30, Infinity, -0, 7]) },
    f16: { dtype: 'F16', shape: [5], data: new Float32Array([1, -65504, 2 ** -24, 0.5, -0]) },
    bf16: { dtype: 'BF16', shape: [1, 3], data: new Float32Array([1, -3.140625, 1e30]) },
    f64: { dtype: 'F64', shape: [2, 2], data: new Float64Array([Math.PI, -1e300, 5e-324, 0]) },
    i32: { dtype: 'I32', shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
    i64: { dtype: 'I64', shape: [2, 1], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    u8: { dtype: 'U8', shape: [7], data: new Uint8Array([0, 1, 2, 127, 128, 254, 255]) },
    bool: { dtype: 'BOOL', shape: [2, 2], data: [true, false, 1, 0] as ArrayLike<boolean | number> as ArrayLike<boolean> },
    scalar: { dtype: 'F32', shape: [], data: [42] },
    empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    emptyI64: { dtype: 'I64', shape: [2, 0], data: [] },
    odd: { dtype: 'F16', shape: [3], data: [0.1, 0.2, 0.3] }, // 6 bytes: later tensors start unaligned
    oddU8: { dtype: 'U8', shape: [1], data: [9] },
  };

  it('round-trips every dtype, odd shapes, scalars and zero-size tensors', () => {
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'ünïcødé' });
    const { tensors: t, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'ünïcødé' });
    expect(Object.keys(t).sort()).toEqual(Object.keys(tensors).sort());
    expect(t.f32!.data).toEqual(new Float32Array([1, -2.5, 3e-30, Infinity, -0, 7]));
    expect(Object.is(t.f32!.data[4], -0)).toBe(true);
    expect(t.f16!.data).toEqual(new Float32Array([1, -65504, 2 ** -24, 0.5, -0]));
    expect(t.bf16!.data).toBeInstanceOf(Float32Array);
    expect([...t.bf16!.data]).toEqual([1, -3.140625, bf16BitsToNumber(numberToBf16Bits(1e30))]);
    expect(t.f64!.data).toEqual(new Float64Array([Math.PI, -1e300, 5e-324, 0]));
    expect(t.i32!.data).toEqual(new Int32Array([-2147483648, 0, 2147483647]));
    expect(t.i64!.data).toEqual(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]));
    expect(t.u8!.data).toEqual(new Uint8Array([0, 1, 2, 127, 128, 254, 255]));
    expect(t.bool!.data).toEqual(new Uint8Array([1, 0, 1, 0]));
    expect(t.scalar).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([42]) });
    expect(t.empty).toEqual({ dtype: 'F32', shape: [0, 3], data: new Float32Array(0) });
    expect(t.emptyI64!.shape).toEqual([2, 0]);
    expect(t.emptyI64!.data.length).toBe(0);
    expect([...t.odd!.data]).toEqual([0.1, 0.2, 0.3].map((v) => f16BitsToNumber(numberToF16Bits(v))));
    expect(t.oddU8!.data).toEqual(new Uint8Array([9]));
    for (const [name, { dtype, shape }] of Object.entries(tensors)) expect(t[name]).toMatchObject({ dtype, shape });
    // Re-encoding the decoded tensors is byte-identical (F16/BF16 values are exactly representable now).
    expect(encodeSafetensors(t as Record<string, TensorInput>, metadata)).toEqual(bytes);
  });

  it('lays tensors out by name, contiguously, with an 8-byte aligned data section', () => {
    const bytes = encodeSafetensors(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { data_offsets: [number, number] }>;
    expect(header.__metadata__).toBeUndefined();
    const names = Object.keys(header);
    expect(names).toEqual([...names].sort());
    let pos = 0;
    for (const name of names) {
      expect(header[name]!.data_offsets[0]).toBe(pos);
      pos = header[name]!.data_offsets[1];
    }
    expect(8 + n + pos).toBe(bytes.length);
  });

  it('can read I64 as range-checked numbers', () => {
    const bytes = encodeSafetensors({ ok: { dtype: 'I64', shape: [2], data: [-(2 ** 53) + 1, 12] } });
    expect(decodeSafetensors(bytes, { i64: 'number' }).tensors.ok!.data).toEqual(new Float64Array([-(2 ** 53) + 1, 12]));
    const big = encodeSafetensors({ big: { dtype: 'I64', shape: [2], data: [1n, 2n ** 53n] } });
    expectError(() => decodeSafetensors(big, { i64: 'number' }), /tensor 'big' \(I64\): element 1 = 9007199254740992 is outside the safe integer range/);
    expect(decodeSafetensors(big).tensors.big!.data).toEqual(new BigInt64Array([1n, 2n ** 53n]));
  });

  it('handles awkward names such as __proto__ and non-ASCII as ordinary keys', () => {
    const t: Record<string, TensorInput> = {};
    Object.defineProperty(t, '__proto__', { value: { dtype: 'U8', shape: [1], data: [3] }, enumerable: true });
    t['base_model.model.layers.0.self_attn.q_proj.lora_A.weight'] = { dtype: 'F32', shape: [1], data: [1] };
    t['ünï'] = { dtype: 'U8', shape: [1], data: [4] };
    const { tensors: back } = decodeSafetensors(encodeSafetensors(t));
    expect(Object.keys(back).sort()).toEqual(Object.keys(t).sort());
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')!.value.data).toEqual(new Uint8Array([3]));
    expect(back['ünï']!.data).toEqual(new Uint8Array([4]));
  });

  it('decodes from a Uint8Array view at an odd offset into a larger buffer', () => {
    const bytes = encodeSafetensors({ x: { dtype: 'F32', shape: [2], data: [1.5, -2] }, y: { dtype: 'F64', shape: [1], data: [3] } });
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const { tensors: t } = decodeSafetensors(big.subarray(3));
    expect(t.x!.data).toEqual(new Float32Array([1.5, -2]));
    expect(t.y!.data).toEqual(new Float64Array([3]));
  });
});

describe('safetensors byte layout', () => {
  it('writes a known tiny file byte for byte', () => {
    const bytes = encodeSafetensors(
      { b: { dtype: 'U8', shape: [3], data: [7, 8, 9] }, a: { dtype: 'F32', shape: [2], data: [1, 2] } },
      { format: 'pt' },
    );
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}';
    expect(json.length).toBe(138); // → padded with 6 spaces to 144
    const expected = [
      144, 0, 0, 0, 0, 0, 0, 0,
      ...enc.encode(json),
      0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
      0x00, 0x00, 0x80, 0x3f, // 1.0f
      0x00, 0x00, 0x00, 0x40, // 2.0f
      7, 8, 9,
    ];
    expect([...bytes]).toEqual(expected);
    expect(bytes.length).toBe(8 + 144 + 11);
    expect((8 + 144) % 8).toBe(0);
  });

  it('pads nothing when the header is already a multiple of 8', () => {
    // With a 4-character name the header is exactly 56 bytes.
    const bytes = encodeSafetensors({ wxyz: { dtype: 'U8', shape: [1], data: [5] } });
    const json = '{"wxyz":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect(json.length).toBe(56);
    expect([...bytes]).toEqual([56, 0, 0, 0, 0, 0, 0, 0, ...enc.encode(json), 5]);
  });

  it('decodes a file written by another tool: unsorted tensors, whitespace, metadata', () => {
    // Header order differs from both name order and data order; data order: c (F16), a (F32), b (I64), d (BF16).
    const header =
      '{ "b" : {"shape": [1], "dtype": "I64", "data_offsets": [12, 20]},\n' +
      '  "__metadata__": {"format": "pt", "epoch": "3", "esc": "q\\"\\u00e9\\n"},\n' +
      '  "a": {"data_offsets": [4, 12], "dtype": "F32", "shape": [2, 1]},\n' +
      '  "d": {"dtype": "BF16", "shape": [], "data_offsets": [20, 22]},\n' +
      '  "c": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]} }';
    const data = [
      0x00, 0x3c, 0xff, 0x7b, // c: 1.0, 65504 as F16
      ...f32le(0.25, -8), // a
      0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // b: -2 as I64
      0x80, 0x3f, // d: 1.0 as BF16
    ];
    const { tensors, metadata } = decodeSafetensors(craft(header, data));
    expect(metadata).toEqual({ format: 'pt', epoch: '3', esc: 'q"é\n' });
    expect(tensors).toEqual({
      a: { dtype: 'F32', shape: [2, 1], data: new Float32Array([0.25, -8]) },
      b: { dtype: 'I64', shape: [1], data: new BigInt64Array([-2n]) },
      c: { dtype: 'F16', shape: [2], data: new Float32Array([1, 65504]) },
      d: { dtype: 'BF16', shape: [], data: new Float32Array([1]) },
    });
  });
});

describe('safetensors validation', () => {
  const ok = '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}';

  it('accepts the baseline crafted file and an empty file', () => {
    expect(decodeSafetensors(craft(ok, [1, 2])).tensors.a!.data).toEqual(new Uint8Array([1, 2]));
    const empty = encodeSafetensors({});
    expect([...empty]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]);
    expect(decodeSafetensors(empty)).toEqual({ tensors: {}, metadata: {} });
  });

  it('rejects a file too short for the length prefix', () => {
    expectError(() => decodeSafetensors(new Uint8Array(5)), /5 bytes, too short for the 8-byte header length/);
  });

  it('rejects a header length beyond the file', () => {
    const b = craft(ok, [1, 2]);
    new DataView(b.buffer).setBigUint64(0, 1000n, true);
    expectError(() => decodeSafetensors(b), /header length 1000 runs beyond the end of the file/);
    new DataView(b.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectError(() => decodeSafetensors(b), /header length 18446744073709551615 runs beyond the end of the file/);
  });

  it('rejects invalid JSON and non-object headers', () => {
    expectError(() => decodeSafetensors(craft('{"a": ')), /invalid JSON header/);
    expectError(() => decodeSafetensors(craft('{"a":{"dtype":"U8",}}')), /invalid JSON header/);
    expectError(() => decodeSafetensors(craft('[1, 2]')), /invalid JSON header: must start with '\{'/);
    expectError(() => decodeSafetensors(craft('{} x')), /invalid JSON header: unexpected 'x'/);
    const badUtf8 = craft('{"a":1}');
    badUtf8[10] = 0xff;
    expectError(() => decodeSafetensors(badUtf8), /invalid JSON header: not valid UTF-8/);
  });

  it('rejects an unknown dtype', () => {
    expectError(
      () => decodeSafetensors(craft('{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', [1, 2])),
      /tensor 'a': unknown dtype "F8_E4M3" \(supported: F32, F16, BF16, F64, I32, I64, U8, BOOL\)/,
    );
  });

  it('rejects bad shapes, offsets and fields', () => {
    expectError(() => decodeSafetensors(craft('{"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}}', [1, 2])), /tensor 'a': shape must be an array of non-negative integers/);
    expectError(() => decodeSafetensors(craft('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0]}}', [1, 2])), /tensor 'a': data_offsets must be \[begin, end\]/);
    expectError(() => decodeSafetensors(craft('{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,0]}}', [1, 2])), /end before they begin/);
    expectError(() => decodeSafetensors(craft('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1}}', [1, 2])), /unexpected field\(s\) 'x'/);
    expectError(() => decodeSafetensors(craft('{"a":[1]}', [])), /tensor 'a': header entry is not an object/);
    expectError(() => decodeSafetensors(craft('{"__metadata__":{"k":1}}')), /'__metadata__' value for 'k' must be a string/);
  });

  it('rejects shape × dtype size that differs from the offset span', () => {
    expectError(
      () => decodeSafetensors(craft('{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}', new Uint8Array(12))),
      /tensor 'a': shape \[2, 2\] × F32 \(4 bytes\) = 16 bytes, but data_offsets \[0, 12\] span 12/,
    );
  });

  it('rejects out-of-range offsets', () => {
    expectError(
      () => decodeSafetensors(craft('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', [1, 2])),
      /tensor 'a': data_offsets \[0, 4\] are out of range \(data section is 2 bytes\)/,
    );
  });

  it('rejects overlapping offsets', () => {
    const h = '{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}';
    expectError(() => decodeSafetensors(craft(h, [1, 2, 3, 4])), /tensor 'b': data_offsets \[2, 4\] overlap tensor 'a' \[0, 3\]/);
  });

  it('rejects data that the tensors do not cover (gaps and trailing bytes)', () => {
    const gap = '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}';
    expectError(() => decodeSafetensors(craft(gap, [1, 2, 3])), /gap in the data section: bytes \[1, 2\) belong to no tensor \(before tensor 'b'\)/);
    expectError(() => decodeSafetensors(craft(ok, [1, 2, 3])), /tensors cover 2 bytes of data but the data section is 3 bytes/);
  });

  it('rejects duplicate tensor names', () => {
    const h = '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    expectError(() => decodeSafetensors(craft(h, [1, 2])), /duplicate key 'a' in header/);
  });

  it('rejects BOOL bytes other than 0/1', () => {
    expectError(() => decodeSafetensors(craft('{"f":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', [1, 2])), /tensor 'f' \(BOOL\): element 1 has byte value 2/);
  });

  it('rejects shape/data length mismatches and bad values on write', () => {
    expectError(
      () => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } }),
      /tensor 'w': shape \[2, 3\] has 6 elements but data has 5/,
    );
    expectError(() => encodeSafetensors({ w: { dtype: 'Q4' as 'F32', shape: [1], data: [1] } }), /tensor 'w': unknown dtype 'Q4'/);
    expectError(() => encodeSafetensors({ w: { dtype: 'F32', shape: [1.5], data: [1] } }), /shape must be an array of non-negative integers/);
    expectError(() => encodeSafetensors({ w: { dtype: 'U8', shape: [1], data: [256] } }), /tensor 'w' \(U8\): element 0 = 256 is not a uint8/);
    expectError(() => encodeSafetensors({ w: { dtype: 'I32', shape: [1], data: [2 ** 31] } }), /is not an int32/);
    expectError(() => encodeSafetensors({ w: { dtype: 'I64', shape: [1], data: [2 ** 53] } }), /is not a safe integer/);
    expectError(() => encodeSafetensors({ w: { dtype: 'BOOL', shape: [1], data: [2] } }), /is not a boolean/);
    expectError(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: [] } }), /'__metadata__' is reserved/);
    expectError(() => encodeSafetensors({}, { epoch: 3 as unknown as string }), /metadata value for 'epoch' must be a string/);
  });
});

describe('io layering', () => {
  it('io/ imports only node built-ins and its own modules', async () => {
    const ioDir = new URL('../../io/', import.meta.url);
    for (const f of (await readdir(ioDir)).filter((n) => n.endsWith('.ts'))) {
      const src = await readFile(new URL(f, ioDir), 'utf8');
      for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
        expect(m[1], `${f} imports ${m[1]}`).toMatch(/^(node:|\.\/[a-z]+\.ts$)/);
      }
    }
  });
});

describe('safetensors files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swaglet-st-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes atomically and reads back, leaving no temp files', async () => {
    const path = join(dir, 'adapter_model.safetensors');
    const t = { 'base_model.model.q_proj.lora_A.weight': { dtype: 'F32' as const, shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) } };
    await writeSafetensors(path, t, { format: 'pt' });
    await writeSafetensors(path, t, { format: 'pt' }); // overwrite
    expect(await readdir(dir)).toEqual(['adapter_model.safetensors']);
    const back = await readSafetensors(path);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(back.tensors).toEqual(t);
    expect(new Uint8Array(await readFile(path))).toEqual(encodeSafetensors(t, { format: 'pt' }));
  });

  it('names the file in read errors', async () => {
    const path = join(dir, 'broken.safetensors');
    await writeFile(path, craft('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', [1]));
    await expect(readSafetensors(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: tensor 'a': data_offsets \\[0, 2\\] are out of range`));
    await expect(readSafetensors(path)).rejects.toBeInstanceOf(SafetensorsError);
  });

  it('names the file in write errors and leaves the old file intact', async () => {
    const path = join(dir, 'keep.safetensors');
    await writeSafetensors(path, { x: { dtype: 'U8', shape: [1], data: [1] } });
    const before = await readFile(path);
    await expect(writeSafetensors(path, { x: { dtype: 'U8', shape: [2], data: [1] } })).rejects.toThrow(`${path}: tensor 'x': shape [2] has 2 elements but data has 1`);
    expect(await readFile(path)).toEqual(before);
  });
});
