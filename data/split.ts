/**
 * Deterministic shuffling, splitting and class-balanced sampling: the same seed always gives the same
 * arrays, on any machine, so experiments can name their data by (source, seed).
 */
import { mulberry32 } from '../kernels/cpu/seeded.ts';
import { type Examples, selectExamples } from './examples.ts';

export class SplitError extends Error {
  override name = 'SplitError';
}

/** A new array holding `xs` in a Fisher–Yates order drawn from mulberry32(seed); `xs` is untouched. */
export function seededShuffle<T>(xs: readonly T[], seed: number): T[] {
  return shuffleWith(xs, mulberry32(seed));
}

function shuffleWith<T>(xs: readonly T[], random: () => number): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

/**
 * Split sizes. All integers: counts of examples. Otherwise fractions of the data, each in [0, 1] and
 * summing to at most 1 (`{ train: 1, validation: 0, test: 0 }` therefore means one training example).
 * With fractions summing to 1 the train part takes what rounding leaves, so nothing is lost.
 */
export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

export interface Splits<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/** Shuffles with `seed`, then cuts train, validation and test off the front in that order. Disjoint. */
export function splitDataset<T>(xs: readonly T[], sizes: SplitSizes, seed: number): Splits<T> {
  const counts = resolveCounts(xs.length, sizes);
  const shuffled = seededShuffle(xs, seed);
  const validationStart = counts.train;
  const testStart = validationStart + counts.validation;
  return {
    train: shuffled.slice(0, validationStart),
    validation: shuffled.slice(validationStart, testStart),
    test: shuffled.slice(testStart, testStart + counts.test),
  };
}

/** The split sizes as counts for `n` examples; throws SplitError when they do not fit. */
export function resolveCounts(n: number, sizes: SplitSizes): SplitSizes {
  const values = [sizes.train, sizes.validation, sizes.test];
  if (values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new SplitError(`split sizes must be finite and non-negative, got ${JSON.stringify(sizes)}`);
  }
  let counts: SplitSizes;
  if (values.every(Number.isInteger)) {
    counts = { ...sizes };
  } else {
    const total = values.reduce((a, b) => a + b, 0);
    if (values.some((v) => v > 1) || total > 1 + 1e-9) {
      throw new SplitError(
        `split sizes ${JSON.stringify(sizes)} mix counts and fractions, or fractions sum above 1 (${total})`,
      );
    }
    const validation = Math.round(sizes.validation * n);
    const test = Math.round(sizes.test * n);
    const train = Math.abs(total - 1) <= 1e-9 ? n - validation - test : Math.round(sizes.train * n);
    counts = { train, validation, test };
  }
  const needed = counts.train + counts.validation + counts.test;
  if (needed > n) {
    throw new SplitError(`split needs ${needed} examples (${JSON.stringify(counts)}) but only ${n} are available`);
  }
  return counts;
}

/**
 * `n` examples with classes as balanced as possible: each of the k classes (ordered by label) gets
 * ⌊n/k⌋, the first n mod k classes one more. Each class is drawn by a seeded shuffle, and the result
 * is shuffled again so classes are interleaved. Throws when a class has too few examples.
 */
export function stratifiedSample<T, L extends number | string>(
  xs: readonly T[],
  n: number,
  seed: number,
  labelOf: (x: T) => L,
): T[] {
  if (!Number.isInteger(n) || n < 0) throw new SplitError(`sample size must be a non-negative integer, got ${n}`);
  const byLabel = new Map<L, T[]>();
  for (const x of xs) {
    const label = labelOf(x);
    const group = byLabel.get(label);
    if (group === undefined) byLabel.set(label, [x]);
    else group.push(x);
  }
  const labels = [...byLabel.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (labels.length === 0) {
    if (n === 0) return [];
    throw new SplitError(`cannot sample ${n} examples from an empty data set`);
  }
  const random = mulberry32(seed);
  const base = Math.floor(n / labels.length);
  const extra = n % labels.length;
  const picked: T[] = [];
  labels.forEach((label, i) => {
    const want = base + (i < extra ? 1 : 0);
    const group = byLabel.get(label)!;
    if (group.length < want) {
      throw new SplitError(`class ${String(label)} has ${group.length} examples; a balanced sample of ${n} needs ${want}`);
    }
    picked.push(...shuffleWith(group, random).slice(0, want));
  });
  return shuffleWith(picked, random);
}

/**
 * Holds out `fraction` of `examples` for validation, stratified by label: each class gives its share
 * (largest-remainder rounding, so the total is round(fraction · n) and no class is over- or
 * under-drawn by more than one), the held-out rows of each class drawn by a seeded shuffle. Both
 * parts keep the file's row order. Throws SplitError when either part would be empty.
 */
export function validationFraction(examples: Examples, fraction: number, seed: number): { train: Examples; validation: Examples } {
  if (!(fraction > 0 && fraction < 1)) throw new SplitError(`validation fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  const n = examples.labels.length;
  const total = Math.round(fraction * n);
  if (total === 0 || total === n) {
    throw new SplitError(`a validation fraction of ${fraction} of ${n} examples leaves ${total === 0 ? 'no validation' : 'no training'} examples`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const group = byClass.get(examples.labels[i]!);
    if (group === undefined) byClass.set(examples.labels[i]!, [i]);
    else group.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  // Largest remainder: floor each class's exact share, then give the leftover one by one to the
  // classes with the largest fractional parts (ties to the lower class id).
  const exact = classes.map((c) => (byClass.get(c)!.length * total) / n);
  const counts = exact.map(Math.floor);
  const leftover = total - counts.reduce((a, b) => a + b, 0);
  const order = classes.map((_, j) => j).sort((a, b) => exact[b]! - counts[b]! - (exact[a]! - counts[a]!) || a - b);
  for (let j = 0; j < leftover; j++) counts[order[j]!]!++;
  const random = mulberry32(seed);
  const held = new Uint8Array(n);
  classes.forEach((c, j) => {
    for (const i of shuffleWith(byClass.get(c)!, random).slice(0, counts[j]!)) held[i] = 1;
  });
  const trainIndices: number[] = [];
  const validationIndices: number[] = [];
  for (let i = 0; i < n; i++) (held[i] ? validationIndices : trainIndices).push(i);
  return { train: selectExamples(examples, trainIndices), validation: selectExamples(examples, validationIndices) };
}
