/**
 * Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011) in plain JS: the reference the WGSL in kernels/philox.ts must match bit for bit,
 * and the same derived distributions (uniform, Box–Muller normals, Bernoulli masks).
 */

export const PHILOX_M0 = 0xd2511f53;
export const PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9;
export const PHILOX_W1 = 0xbb67ae85;

/** High 32 bits of a·b (both u32), from 16-bit halves exactly as the WGSL computes it. */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const ll = aLo * bLo, lh = aLo * bHi, hl = aHi * bLo, hh = aHi * bHi;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Ten Philox rounds of `counter` (4 × u32) under `key` (2 × u32). */
export function philox4x32_10(counter: readonly number[], key: readonly number[]): Uint32Array {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0) as [number, number, number, number];
  let k0 = key[0]! >>> 0, k1 = key[1]! >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0), lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2), lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** Where a generator's element i comes from: word i mod 4 of the block with counter (i div 4, offset, stream, 0). */
export interface PhiloxStream {
  key: readonly [number, number];
  stream?: number;
  offset?: number;
}

export function blockCounter(block: number, { stream = 0, offset = 0 }: PhiloxStream): number[] {
  return [block >>> 0, offset >>> 0, stream >>> 0, 0];
}

/** (k + ½)·2⁻²³ for the top 23 bits k: exact in f32, strictly inside (0, 1). */
export function uniformFromBits(bits: number): number {
  return ((bits >>> 9) + 0.5) * 2 ** -23;
}

/** Box–Muller on four words: two (radius, angle) pairs give four standard normals. */
export function normalsFromBits(bits: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (const pair of [0, 2]) {
    const r = Math.sqrt(-2 * Math.log(uniformFromBits(bits[pair]!)));
    const theta = 2 * Math.PI * (uniformFromBits(bits[pair + 1]!) - 0.5);
    out.push(r * Math.cos(theta), r * Math.sin(theta));
  }
  return out;
}

function generate(n: number, stream: PhiloxStream, map: (block: Uint32Array) => ArrayLike<number>, out: Float32Array | Uint32Array): void {
  for (let block = 0; block * 4 < n; block++) {
    const values = map(philox4x32_10(blockCounter(block, stream), stream.key));
    for (let lane = 0; lane < 4 && block * 4 + lane < n; lane++) out[block * 4 + lane] = values[lane]!;
  }
}

export function randomBitsCpu(n: number, stream: PhiloxStream): Uint32Array {
  const out = new Uint32Array(n);
  generate(n, stream, (bits) => bits, out);
  return out;
}

export function randomUniformCpu(n: number, stream: PhiloxStream): Float32Array {
  const out = new Float32Array(n);
  generate(n, stream, (bits) => Array.from(bits, uniformFromBits), out);
  return out;
}

export function randomNormalCpu(n: number, stream: PhiloxStream, mean = 0, std = 1): Float32Array {
  const out = new Float32Array(n);
  generate(n, stream, (bits) => normalsFromBits(bits).map((z) => mean + std * z), out);
  return out;
}

/** 1/(1−p) where the element is kept (uniform < 1−p, compared in f32), else 0. */
export function bernoulliMaskCpu(n: number, p: number, stream: PhiloxStream): Float32Array {
  const keep = Math.fround(1 - p);
  const scale = p >= 1 ? 0 : Math.fround(1 / (1 - p));
  const out = new Float32Array(n);
  generate(n, stream, (bits) => Array.from(bits, (b) => (uniformFromBits(b) < keep ? scale : 0)), out);
  return out;
}
