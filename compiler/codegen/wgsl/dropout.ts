/**
 * Dropout masks and `randomNormal` draws from Philox4x32-10, one function on both sides: the WGSL the fused kernels call,
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
 *
 * `randomNormal(seed) {shape, stream}` uses the same key and counter, element index = flat
 * row-major index into its result: element i is normal (i mod 4) of philox_normals(block) (the
 * Box–Muller of kernels/philox.ts), so a [n] draw equals kernels/philox.ts `randomNormal(device,
 * [n], {seed, stream})` for 0 ≤ seed < 2³¹; `philoxNormal` is its CPU twin (via
 * kernels/cpu/philox.ts `normalsFromBits`), for `evaluate(g, feeds, { normal })`.
 */
import { normalsFromBits, philox4x32_10, uniformFromBits } from '../../../kernels/cpu/philox.ts';
import { PHILOX_WGSL } from '../../../kernels/philox.ts';
import type { DropoutUniform, NormalGenerator } from '../../ir/index.ts';

/** The CPU twin: the uniform the GPU kernels compare against p. */
export const philoxDropoutUniform: DropoutUniform = (seed, stream, index) => {
  const bits = philox4x32_10([Math.floor(index / 4) >>> 0, 0, stream >>> 0, 0], [seed >>> 0, 0]);
  return uniformFromBits(bits[index % 4]!);
};

/** The smallest k with (k + ½)·2⁻²³ ≥ p: keep iff (bits >> 9) ≥ this. */
export function dropoutThreshold(p: number): number {
  return Math.max(0, Math.ceil(p * 2 ** 23 - 0.5));
}

let lastBlock: { seed: number; stream: number; block: number; normals: number[] } | undefined;

/** The CPU twin of `random_normal`: normal (index mod 4) of Philox block (index div 4, 0, stream, 0) under key (seed, 0). */
export const philoxNormal: NormalGenerator = (seed, stream, index) => {
  const block = Math.floor(index / 4);
  if (!lastBlock || lastBlock.seed !== seed || lastBlock.stream !== stream || lastBlock.block !== block) {
    const bits = philox4x32_10([block >>> 0, 0, stream >>> 0, 0], [seed >>> 0, 0]);
    lastBlock = { seed, stream, block, normals: normalsFromBits(bits) };
  }
  return lastBlock.normals[index % 4]!;
};

/** WGSL: Philox itself (kernels/philox.ts), needed once by `dropout_bits` and `random_normal`. */
export const PHILOX_HELPER_WGSL = PHILOX_WGSL.trim();

/** WGSL: `dropout_bits(index, stream, seed)`; needs PHILOX_HELPER_WGSL. */
export const DROPOUT_BITS_WGSL = `// Dropout's Philox word for flat element \`index\` (see compiler/emit/wgsl/dropout.ts).
fn dropout_bits(index: u32, stream: u32, seed: i32) -> u32 {
  let block = philox4x32_10(vec4<u32>(index / 4u, 0u, stream, 0u), vec2<u32>(bitcast<u32>(seed), 0u));
  let lane = index % 4u;
  return select(select(block.x, block.y, lane == 1u), select(block.z, block.w, lane == 3u), lane >= 2u);
}`;

/** WGSL: `random_normal(index, stream, seed)`, element \`index\` of a randomNormal draw; needs PHILOX_HELPER_WGSL. */
export const RANDOM_NORMAL_WGSL = `// randomNormal's standard normal for flat element \`index\` (see compiler/emit/wgsl/dropout.ts):
// lane (index mod 4) of philox_normals of its block, computing only that lane's Box–Muller half
// (the same operations on the same words as philox_normals, so the same bits).
fn random_normal(index: u32, stream: u32, seed: i32) -> f32 {
  let bits = philox4x32_10(vec4<u32>(index / 4u, 0u, stream, 0u), vec2<u32>(bitcast<u32>(seed), 0u));
  let lane = index % 4u;
  let high = lane >= 2u;
  let r = sqrt(-2.0 * philox_log(philox_uniform(select(bits.x, bits.z, high))));
  let t = 6.283185307179586 * (philox_uniform(select(bits.y, bits.w, high)) - 0.5);
  if ((lane & 1u) == 0u) { return r * cos(t); }
  return r * sin(t);
}`;

/** WGSL helpers: Philox itself and `dropout_bits(index, stream, seed)`. */
export const DROPOUT_WGSL = `${PHILOX_HELPER_WGSL}\n\n${DROPOUT_BITS_WGSL}`;
