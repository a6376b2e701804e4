import { describe, expect, it } from 'vitest';
import { SplitError, resolveCounts, seededShuffle, splitDataset, stratifiedSample } from '../../data/split.ts';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

describe('seededShuffle', () => {
  it('returns a permutation and leaves the input untouched', () => {
    const xs = range(101);
    const shuffled = seededShuffle(xs, 5);
    expect(xs).toEqual(range(101));
    expect(sorted(shuffled)).toEqual(xs);
    expect(shuffled).not.toEqual(xs);
  });

  it('is the same for the same seed and differs for another', () => {
    expect(seededShuffle(range(50), 1)).toEqual(seededShuffle(range(50), 1));
    expect(seededShuffle(range(50), 1)).not.toEqual(seededShuffle(range(50), 2));
  });

  it('puts each element first about equally often over many seeds', () => {
    const firsts = new Array(4).fill(0);
    for (let seed = 0; seed < 4000; seed++) firsts[seededShuffle(range(4), seed)[0]!]++;
    // Each count is Binomial(4000, 1/4): mean 1000, sd ≈ 27; 5 sd bounds.
    for (const count of firsts) expect(Math.abs(count - 1000)).toBeLessThan(137);
  });
});

describe('splitDataset', () => {
  it('cuts disjoint parts of the requested counts', () => {
    const { train, validation, test } = splitDataset(range(100), { train: 60, validation: 15, test: 20 }, 3);
    expect([train.length, validation.length, test.length]).toEqual([60, 15, 20]);
    const all = [...train, ...validation, ...test];
    expect(new Set(all).size).toBe(95);
    expect(all.every((x) => x >= 0 && x < 100)).toBe(true);
  });

  it('resolves fractions summing to 1 so that every example is used', () => {
    expect(resolveCounts(101, { train: 0.8, validation: 0.1, test: 0.1 })).toEqual({ train: 81, validation: 10, test: 10 });
    const { train, validation, test } = splitDataset(range(101), { train: 0.8, validation: 0.1, test: 0.1 }, 9);
    expect(sorted([...train, ...validation, ...test])).toEqual(range(101));
  });

  it('resolves fractions summing below 1 by rounding each', () => {
    expect(resolveCounts(1000, { train: 0.5, validation: 0.05, test: 0.25 })).toEqual({ train: 500, validation: 50, test: 250 });
  });

  it('is deterministic in the seed', () => {
    const sizes = { train: 10, validation: 5, test: 5 };
    expect(splitDataset(range(30), sizes, 11)).toEqual(splitDataset(range(30), sizes, 11));
    expect(splitDataset(range(30), sizes, 11)).not.toEqual(splitDataset(range(30), sizes, 12));
  });

  it('rejects sizes that do not fit, mix counts and fractions, or are negative', () => {
    expect(() => splitDataset(range(10), { train: 8, validation: 2, test: 1 }, 0)).toThrow(SplitError);
    expect(() => resolveCounts(10, { train: 0.7, validation: 0.2, test: 0.2 })).toThrow(/sum above 1/);
    expect(() => resolveCounts(10, { train: 5, validation: 0.5, test: 0 })).toThrow(/mix counts and fractions/);
    expect(() => resolveCounts(10, { train: -1, validation: 0, test: 0 })).toThrow(/non-negative/);
  });
});

describe('stratifiedSample', () => {
  // 90 of label 0, 10 of label 1, 30 of label 2.
  const items = [...range(90).map((i) => ({ id: i, label: 0 })), ...range(10).map((i) => ({ id: 90 + i, label: 1 })),
    ...range(30).map((i) => ({ id: 100 + i, label: 2 }))];
  const labelOf = (x: { label: number }): number => x.label;

  it('takes equal numbers per class, the remainder going to the lowest labels', () => {
    const sample = stratifiedSample(items, 29, 4, labelOf);
    const counts = [0, 1, 2].map((l) => sample.filter((x) => x.label === l).length);
    expect(counts).toEqual([10, 10, 9]);
    expect(new Set(sample.map((x) => x.id)).size).toBe(29);
  });

  it('interleaves the classes and repeats for the same seed', () => {
    const sample = stratifiedSample(items, 30, 4, labelOf);
    expect(sample).toEqual(stratifiedSample(items, 30, 4, labelOf));
    expect(sample.slice(0, 10).some((x) => x.label !== sample[0]!.label)).toBe(true);
  });

  it('throws when a class is too small for a balanced sample', () => {
    expect(() => stratifiedSample(items, 33, 1, labelOf)).toThrow(/class 1 has 10 examples/);
    expect(() => stratifiedSample([], 1, 1, labelOf)).toThrow(SplitError);
    expect(stratifiedSample([], 0, 1, labelOf)).toEqual([]);
  });
});
