import { describe, expect, it } from 'vitest';
import type { Examples } from '../../data/examples.ts';
import { LabelMap } from '../../data/labels.ts';
import { SplitError, validationFraction } from '../../data/split.ts';

/** n examples whose labels follow `labelOf`, with text "t<i>" and one feature i. */
function examples(n: number, labelOf: (i: number) => number, classes: number): Examples {
  return {
    source: 'made.jsonl',
    rows: Int32Array.from({ length: n }, (_, i) => i),
    texts: Array.from({ length: n }, (_, i) => `t${i}`),
    features: Float32Array.from({ length: n }, (_, i) => i),
    featureCount: 1,
    labels: Int32Array.from({ length: n }, (_, i) => labelOf(i)),
    labelMap: LabelMap.integer(classes),
  };
}

const classCounts = (labels: Int32Array, k: number): number[] => {
  const counts = new Array<number>(k).fill(0);
  for (const l of labels) counts[l]!++;
  return counts;
};

describe('validationFraction', () => {
  // 70 of class 0, 20 of class 1, 10 of class 2.
  const data = examples(100, (i) => (i < 70 ? 0 : i < 90 ? 1 : 2), 3);

  it('holds out the fraction of each class, and the parts partition the rows', () => {
    const { train, validation } = validationFraction(data, 0.2, 7);
    expect(classCounts(validation.labels, 3)).toEqual([14, 4, 2]);
    expect(classCounts(train.labels, 3)).toEqual([56, 16, 8]);
    const all = [...train.rows, ...validation.rows].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Texts, features and labels follow their rows; each part keeps file order.
    for (const part of [train, validation]) {
      part.rows.forEach((row, i) => {
        expect(part.texts![i]).toBe(`t${row}`);
        expect(part.features![i]).toBe(row);
        expect(part.labels[i]).toBe(data.labels[row]);
        if (i > 0) expect(row).toBeGreaterThan(part.rows[i - 1]!);
      });
      expect(part.labelMap).toBe(data.labelMap);
    }
  });

  it('rounds by largest remainders so the total is round(fraction · n)', () => {
    // Shares of 0.15 · 100 = 15: 10.5, 3, 1.5 -> floors 10, 3, 1 (14) and one more to a class with remainder .5 (class 0 first).
    const { validation } = validationFraction(data, 0.15, 1);
    expect(validation.labels.length).toBe(15);
    expect(classCounts(validation.labels, 3)).toEqual([11, 3, 1]);
  });

  it('is the same for the same seed and draws other rows for another seed', () => {
    const a = validationFraction(data, 0.3, 5).validation.rows;
    expect(Array.from(validationFraction(data, 0.3, 5).validation.rows)).toEqual(Array.from(a));
    expect(Array.from(validationFraction(data, 0.3, 6).validation.rows)).not.toEqual(Array.from(a));
  });

  it('rejects fractions outside (0, 1) and splits that leave a part empty', () => {
    expect(() => validationFraction(data, 0, 1)).toThrow(SplitError);
    expect(() => validationFraction(data, 1, 1)).toThrow(/between 0 and 1/);
    expect(() => validationFraction(examples(3, () => 0, 1), 0.1, 1)).toThrow(/leaves no validation examples/);
  });
});
