/**
 * Summaries over repeats of an experiment (seeds): the mean with its standard error, and paired
 * differences, where each seed's two numbers come from the same data split and so are compared
 * with each other before averaging (the split's own luck cancels).
 */

export interface MeanWithError {
  mean: number;
  /** The standard error of the mean: the sample standard deviation (n − 1) over √n; NaN for one value. */
  se: number;
  n: number;
}

export class StatisticsInputError extends Error {
  override name = 'StatisticsInputError';
}

/** Mean ± standard error of `values` (at least one). */
export function meanAndStandardError(values: readonly number[]): MeanWithError {
  const n = values.length;
  if (n === 0) throw new StatisticsInputError('no values to summarize');
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { mean, se: Number.NaN, n };
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return { mean, se: Math.sqrt(squares / (n - 1) / n), n };
}

export interface PairedDifference extends MeanWithError {
  /** a[i] − b[i] per seed. */
  differences: number[];
}

/** The per-seed differences a − b, and their mean ± standard error. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) throw new StatisticsInputError(`paired values need as many of each: ${a.length} against ${b.length}`);
  const differences = a.map((x, i) => x - b[i]!);
  return { ...meanAndStandardError(differences), differences };
}

/** `mean ± se` with `digits` decimals; the mean alone when there is no standard error (one seed). */
export function formatMeanWithError(m: { mean: number; se: number }, digits: number, scale = 1): string {
  const f = (x: number) => {
    const s = (x * scale).toFixed(digits);
    return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
  };
  if (!Number.isFinite(m.mean)) return 'n/a';
  return Number.isFinite(m.se) ? `${f(m.mean)} ± ${f(m.se)}` : f(m.mean);
}
