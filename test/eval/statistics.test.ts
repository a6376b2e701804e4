import { describe, expect, it } from 'vitest';
import { StatisticsInputError, formatMeanWithError, meanAndStandardError, pairedDifference } from '../../eval/statistics.ts';

describe('meanAndStandardError', () => {
  it('is the mean and the sample standard deviation over √n', () => {
    // [1, 2, 3, 4]: mean 2.5; squares 2.25 + 0.25 + 0.25 + 2.25 = 5 over n − 1 = 3; se = √(5/3 / 4) = √(5/12).
    const s = meanAndStandardError([1, 2, 3, 4]);
    expect(s.mean).toBe(2.5);
    expect(s.se).toBeCloseTo(Math.sqrt(5 / 12), 15);
    expect(s.se).toBeCloseTo(0.6454972243679028, 15);
    expect(s.n).toBe(4);
  });

  it('has no standard error for one value, and refuses none', () => {
    const s = meanAndStandardError([0.7]);
    expect(s.mean).toBe(0.7);
    expect(s.se).toBeNaN();
    expect(() => meanAndStandardError([])).toThrow(StatisticsInputError);
  });
});

describe('pairedDifference', () => {
  it('averages the per-seed differences, not the difference of the averages’ errors', () => {
    // Differences 0.1, 0.3, 0: mean 0.4/3; squared deviations 1/900 + 25/900 + 16/900 = 42/900 over 2 → 21/900; /3 → 7/900.
    const d = pairedDifference([0.5, 0.7, 0.6], [0.4, 0.4, 0.6]);
    expect(d.differences.map((x) => Number(x.toFixed(12)))).toEqual([0.1, 0.3, 0]);
    expect(d.mean).toBeCloseTo(0.4 / 3, 15);
    expect(d.se).toBeCloseTo(Math.sqrt(7 / 900), 12);
    // The same shift in every seed has no spread at all, however different the seeds are.
    expect(pairedDifference([0.9, 0.5, 0.7], [0.8, 0.4, 0.6]).se).toBeCloseTo(0, 12);
  });

  it('refuses unpaired lists', () => {
    expect(() => pairedDifference([1, 2], [1])).toThrow(/2 against 1/);
  });
});

describe('formatMeanWithError', () => {
  it('prints mean ± se, or the mean alone without a standard error', () => {
    expect(formatMeanWithError({ mean: 0.12345, se: 0.00678 }, 3)).toBe('0.123 ± 0.007');
    expect(formatMeanWithError({ mean: 0.5, se: Number.NaN }, 2)).toBe('0.50');
    expect(formatMeanWithError({ mean: -0.00001, se: 0.1 }, 2)).toBe('0.00 ± 0.10');
  });
});
