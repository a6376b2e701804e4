/**
 * Dropout masks from Philox4x32-10, one function on both sides: the WGSL the fused kernels call,
 * and its CPU twin `philoxDropoutUniform`, which tests pass to `evaluate(g, feeds,
 * { dropoutUniform })` so the interpreter draws exactly the GPU's mask.
 *
 * The mapping (seed, stream, element index) → Philox, for a dropout node with operand x:
 *  - key     = (seed as u32, 0)            seed: the node's i32 scalar operand (its bits)
 *  - counter = (index div 4, 0, stream, 0) stream: the node's static attr; index: flat
 *                                          row-major index into x (and into the result)
 *  - bits    = word (index mod 4) of philox4x32_10(counter, key)
 *  - u       = ((bits >> 9) + 0.5) · 2⁻²³  in (0, 1), exact in f32 (kernels/philox.ts)
 *  - keep element iff u ≥ p; a kept element is x · 1/(1 − p).
 * This is kernels/philox.ts's generator layout with offset 0, so its CPU reference
 * (kernels/cpu/philox.ts) computes the bits. On the GPU the test u ≥ p is done exactly, in
 * integers: bits >> 9 ≥ ⌈p·2²³ − ½⌉ (no f32 rounding of p can flip an element).
 */
import { philox4x32_10, uniformFromBits } from '../../../kernels/cpu/philox.ts';
import { PHILOX_WGSL } from '../../../kernels/philox.ts';
import type { DropoutUniform } from '../../ir/index.ts';

/** The CPU twin: the uniform the GPU kernels compare against p. */
export const philoxDropoutUniform: DropoutUniform = (seed, stream, index) => {
  const bits = philox4x32_10([Math.floor(index / 4) >>> 0, 0, stream >>> 0, 0], [seed >>> 0, 0]);
  return uniformFromBits(bits[index % 4]!);
};

/** The smallest k with (k + ½)·2⁻²³ ≥ p: keep iff (bits >> 9) ≥ this. */
export function dropoutThreshold(p: number): number {
  return Math.max(0, Math.ceil(p * 2 ** 23 - 0.5));
}

/** WGSL helpers: Philox itself and `dropout_bits(index, stream, seed)`. */
export const DROPOUT_WGSL = `${PHILOX_WGSL.trim()}

// Dropout's Philox word for flat element \`index\` (see compiler/emit/wgsl/dropout.ts).
fn dropout_bits(index: u32, stream: u32, seed: i32) -> u32 {
  let block = philox4x32_10(vec4<u32>(index / 4u, 0u, stream, 0u), vec2<u32>(bitcast<u32>(seed), 0u));
  let lane = index % 4u;
  return select(select(block.x, block.y, lane == 1u), select(block.z, block.w, lane == 3u), lane >= 2u);
}`;
