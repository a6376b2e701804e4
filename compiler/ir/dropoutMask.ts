/**
 * The dropout mask generator. A dropout node keeps element i (flat row-major index into its
 * operand) when `uniform(seed, stream, i) >= p`. The generator is a pure, counter-based function
 * of (seed, stream, index) — no state carried between elements or calls — so that
 *  - the gradient (another dropout node with the same seed operand and stream) sees the same mask;
 *  - the CPU interpreter and a GPU kernel agree bit-for-bit, provided they use the same function.
 *
 * It is pluggable: `evaluate(g, feeds, { dropoutUniform })` takes any `DropoutUniform`. The default
 * below is a cheap integer hash that translates line for line to WGSL u32 arithmetic; when the
 * GPU side moves to Philox4x32-10 the same Philox function is passed here, and CPU and GPU agree.
 */

/** A uniform number in [0, 1) determined by (seed, stream, element index) alone. */
export type DropoutUniform = (seed: number, stream: number, index: number) => number;

/** Chris Wellons' "lowbias32" integer hash: a bijection on u32 with good avalanche. */
export function lowbias32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The default generator: hash(hash(hash(seed) + stream) + index) / 2^32, all in u32. */
export const hashDropoutUniform: DropoutUniform = (seed, stream, index) => {
  const key = lowbias32((lowbias32(seed) + (stream >>> 0)) >>> 0);
  return lowbias32((key + (index >>> 0)) >>> 0) / 4294967296;
};
