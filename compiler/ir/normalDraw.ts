/**
 * The generator behind `randomNormal(seed) {shape, stream}`: element i (flat row-major index) is
 * `normal(seed, stream, i)`, a pure, counter-based function — no state between elements or calls
 * — so CSE may merge equal draws and the CPU interpreter and a GPU kernel agree exactly, provided
 * they use the same function.
 *
 * It is pluggable, like dropout's mask: `evaluate(g, feeds, { normal })` takes any
 * `NormalGenerator`. The default below is a cheap integer hash with Box–Muller; the WGSL kernels
 * draw Philox normals, whose CPU twin (`philoxNormal`, compiler/codegen/wgsl/dropout.ts) tests pass
 * here so the interpreter draws exactly the GPU's numbers.
 */
import { lowbias32 } from './dropoutMask.ts';

/** A standard normal determined by (seed, stream, element index) alone. */
export type NormalGenerator = (seed: number, stream: number, index: number) => number;

/** (hash + ½)·2⁻³² in (0, 1). */
function unit(x: number): number {
  return (lowbias32(x) + 0.5) / 4294967296;
}

/**
 * The default: key = hash(hash(seed ^ 0x6e6f726d) + stream) ("norm", so it differs from the
 * dropout mask's key); u₁, u₂ = unit(key + 2i), unit(key + 2i + 1); z = √(−2 ln u₁)·cos(2π u₂).
 */
export const hashNormal: NormalGenerator = (seed, stream, index) => {
  const key = lowbias32((lowbias32((seed ^ 0x6e6f726d) >>> 0) + (stream >>> 0)) >>> 0);
  const at = (key + 2 * (index >>> 0)) >>> 0;
  const u1 = unit(at);
  const u2 = unit((at + 1) >>> 0);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
};
