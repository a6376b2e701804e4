/**
 * Classification metrics for judging predictive uncertainty: accuracy, NLL, ECE, Brier score,
 * per-example entropy and confidence, and AUROC for out-of-distribution detection.
 *
 * Inputs are predicted class probabilities `probs`, row-major [n, c], and integer labels (length n).
 * The predicted class is the argmax of a row; on exact ties the lowest class index wins.
 * All sums are accumulated in float64 whatever the input precision.
 */

export type Probabilities = Float32Array | Float64Array;
export type Labels = ArrayLike<number>;

/** A metric was given inputs it cannot be computed on (bad shape, label out of range, NaN, …). */
export class MetricInputError extends Error {
  override name = 'MetricInputError';
}

/** Probabilities below this are clamped before taking logs, so one confident mistake costs log(1e12) ≈ 27.6, not ∞. */
export const NLL_PROBABILITY_FLOOR = 1e-12;

/** Rows whose probabilities sum further than this from 1 are rejected: usually a wrong [n, c] layout. */
const ROW_SUM_TOLERANCE = 1e-3;

/** Number of classes implied by `probs` and `labels`, after checking every input. */
function checkedClasses(probs: Probabilities, labels: Labels): number {
  const n = labels.length;
  if (n === 0) throw new MetricInputError('no examples: labels is empty');
  if (probs.length % n !== 0) {
    throw new MetricInputError(`probs has ${probs.length} values, not a multiple of ${n} labels`);
  }
  const classes = probs.length / n;
  checkRows(probs, classes);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new MetricInputError(`label ${i} is ${y}; expected an integer in [0, ${classes})`);
    }
  }
  return classes;
}

/** Checks that `probs` is [n, classes] with each row a probability distribution. */
function checkRows(probs: Probabilities, classes: number): number {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new MetricInputError(`classes must be a positive integer, got ${classes}`);
  }
  if (probs.length === 0) throw new MetricInputError('no examples: probs is empty');
  if (probs.length % classes !== 0) {
    throw new MetricInputError(`probs has ${probs.length} values, not a multiple of ${classes} classes`);
  }
  const n = probs.length / classes;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let k = 0; k < classes; k++) {
      const p = probs[i * classes + k]!;
      if (!(p >= 0 && p <= 1)) {
        throw new MetricInputError(`probs[${i}, ${k}] = ${p} is not a probability in [0, 1]`);
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) {
      throw new MetricInputError(`row ${i} of probs sums to ${sum}, not 1 (is the [n, c] layout right?)`);
    }
  }
  return n;
}

/** Index of the largest probability in row i (lowest index on ties). */
function argmaxRow(probs: Probabilities, classes: number, i: number): number {
  let best = 0;
  let bestP = probs[i * classes]!;
  for (let k = 1; k < classes; k++) {
    const p = probs[i * classes + k]!;
    if (p > bestP) {
      bestP = p;
      best = k;
    }
  }
  return best;
}

/** Fraction of examples whose argmax class equals the label. */
export function accuracy(probs: Probabilities, labels: Labels): number {
  const classes = checkedClasses(probs, labels);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (argmaxRow(probs, classes, i) === labels[i]) correct++;
  return correct / labels.length;
}

/**
 * Mean over examples of −log p[label] (natural log, nats). The probability is clamped below at
 * NLL_PROBABILITY_FLOOR = 1e-12, so a zero probability on the true class costs ≈ 27.63, not ∞.
 */
export function negativeLogLikelihood(probs: Probabilities, labels: Labels): number {
  const classes = checkedClasses(probs, labels);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    total -= Math.log(Math.max(probs[i * classes + labels[i]!]!, NLL_PROBABILITY_FLOOR));
  }
  return total / labels.length;
}

/**
 * Multi-class Brier score: the mean over examples of Σ_c (p_c − onehot_c)². It ranges over [0, 2];
 * this is the sum over classes (Brier's original form), not divided by the number of classes.
 * A uniform 2-class prediction scores 0.25 + 0.25 = 0.5 whatever the label.
 */
export function brierScore(probs: Probabilities, labels: Labels): number {
  const classes = checkedClasses(probs, labels);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let k = 0; k < classes; k++) {
      const d = probs[i * classes + k]! - (k === labels[i] ? 1 : 0);
      total += d * d;
    }
  }
  return total / labels.length;
}

/** One equal-width confidence bin (lo, hi] of a reliability diagram. */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  /** Examples whose confidence falls in (lo, hi]. */
  count: number;
  /** Fraction of those examples predicted correctly; 0 when count is 0. */
  accuracy: number;
  /** Mean confidence (max probability) of those examples; 0 when count is 0. */
  confidence: number;
}

/**
 * Bin index for a confidence in (0, 1] among `bins` equal-width, right-inclusive bins (lo, hi].
 * The edges are i/bins, exactly the comparisons `conf > lo && conf <= hi` of Guo et al. (2017)'s
 * reference code; the ceil() guess is corrected so float rounding of conf·bins cannot move an
 * example that sits exactly on an edge (e.g. 0.6 with 15 bins) into the bin above.
 */
function binIndex(conf: number, bins: number): number {
  let b = Math.min(Math.max(Math.ceil(conf * bins) - 1, 0), bins - 1);
  while (b > 0 && conf <= b / bins) b--;
  while (b < bins - 1 && conf > (b + 1) / bins) b++;
  return b;
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new MetricInputError(`bins must be a positive integer, got ${bins}`);
  }
}

/**
 * Per-bin accuracy and confidence over `bins` equal-width confidence bins covering (0, 1]:
 * bin b is (b/bins, (b+1)/bins], right-inclusive as in Guo et al. (2017), so confidence 1 lands in
 * the last bin. Confidence is the max probability of a row (compared in float64 as stored: a float32
 * 0.6 is 0.6000000238…). Every bin is returned, empty ones with count 0.
 */
export function reliabilityBins(probs: Probabilities, labels: Labels, bins = 15): ReliabilityBin[] {
  checkBins(bins);
  const classes = checkedClasses(probs, labels);
  const count = new Float64Array(bins);
  const correct = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const predicted = argmaxRow(probs, classes, i);
    const conf = probs[i * classes + predicted]!;
    const b = binIndex(conf, bins);
    count[b]!++;
    confSum[b]! += conf;
    if (predicted === labels[i]) correct[b]!++;
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b]!;
    out.push({
      lo: b / bins,
      hi: (b + 1) / bins,
      count: c,
      accuracy: c > 0 ? correct[b]! / c : 0,
      confidence: c > 0 ? confSum[b]! / c : 0,
    });
  }
  return out;
}

/** ECE from already computed bins: Σ_b (count_b / n)·|accuracy_b − confidence_b|. */
export function eceFromBins(bins: readonly ReliabilityBin[]): number {
  let n = 0;
  let weighted = 0;
  for (const bin of bins) {
    n += bin.count;
    weighted += bin.count * Math.abs(bin.accuracy - bin.confidence);
  }
  if (n === 0) throw new MetricInputError('no examples in any bin');
  return weighted / n;
}

/**
 * Expected calibration error (Guo et al. 2017) over `bins` equal-width confidence bins on (0, 1],
 * right-inclusive (lo, hi]: the bin-fraction-weighted mean of |accuracy − mean confidence|.
 */
export function expectedCalibrationError(probs: Probabilities, labels: Labels, bins = 15): number {
  return eceFromBins(reliabilityBins(probs, labels, bins));
}

/** Shannon entropy −Σ_c p_c log p_c of each row, in nats (0·log 0 taken as 0). */
export function predictiveEntropy(probs: Probabilities, classes: number): Float64Array {
  const n = checkRows(probs, classes);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = 0;
    for (let k = 0; k < classes; k++) {
      const p = probs[i * classes + k]!;
      if (p > 0) h -= p * Math.log(p);
    }
    out[i] = h;
  }
  return out;
}

/** The largest probability of each row (the model's confidence in its prediction). */
export function maxProbability(probs: Probabilities, classes: number): Float64Array {
  const n = checkRows(probs, classes);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = probs[i * classes + argmaxRow(probs, classes, i)]!;
  return out;
}

function checkScores(scores: ArrayLike<number>, what: string): void {
  if (scores.length === 0) throw new MetricInputError(`no ${what} scores`);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i]!)) throw new MetricInputError(`${what} score ${i} is NaN`);
  }
}

/**
 * Area under the ROC curve for telling positives from negatives by score (higher = more positive):
 * P(score⁺ > score⁻) + ½·P(score⁺ = score⁻), computed exactly as the Mann–Whitney U statistic from
 * mid-ranks. 1 = perfect separation, 0.5 = chance, 0 = perfectly reversed. O((m+n) log(m+n)).
 */
export function auroc(scoresPositive: ArrayLike<number>, scoresNegative: ArrayLike<number>): number {
  checkScores(scoresPositive, 'positive');
  checkScores(scoresNegative, 'negative');
  const m = scoresPositive.length;
  const n = scoresNegative.length;
  const all = new Float64Array(m + n);
  for (let i = 0; i < m; i++) all[i] = scoresPositive[i]!;
  for (let j = 0; j < n; j++) all[m + j] = scoresNegative[j]!;
  // A comparator, not subtraction: ±Infinity scores are allowed and Infinity − Infinity is NaN.
  const order = Array.from({ length: m + n }, (_, i) => i).sort((a, b) =>
    all[a]! < all[b]! ? -1 : all[a]! > all[b]! ? 1 : 0,
  );
  // Sum of (1-based) ranks of the positives; a run of tied scores shares its mean rank.
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && all[order[end]!] === all[order[start]!]) end++;
    const midRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (order[k]! < m) positiveRankSum += midRank;
    start = end;
  }
  const u = positiveRankSum - (m * (m + 1)) / 2;
  return u / (m * n);
}

/** AUROCs of detecting out-of-distribution inputs from a model's predicted probabilities. */
export interface OodAuroc {
  /** Score −max probability: a less confident prediction is more OOD. */
  maxProb: number;
  /** Score predictive entropy: a more uncertain prediction is more OOD. */
  entropy: number;
}

/**
 * How well in-distribution rows (`idProbs`) and OOD rows (`oodProbs`), both [·, classes], are told
 * apart, with OOD as the positive class. Each "OOD-ness" score is higher = more OOD, so 1 means every
 * OOD input looks less certain than every in-distribution one, and 0.5 is chance.
 */
export function oodAuroc(idProbs: Probabilities, oodProbs: Probabilities, classes: number): OodAuroc {
  const negate = (xs: Float64Array): Float64Array => xs.map((x) => -x);
  return {
    maxProb: auroc(negate(maxProbability(oodProbs, classes)), negate(maxProbability(idProbs, classes))),
    entropy: auroc(predictiveEntropy(oodProbs, classes), predictiveEntropy(idProbs, classes)),
  };
}

/** The four headline metrics of one method on one split. */
export interface Evaluation {
  accuracy: number;
  nll: number;
  ece: number;
  brier: number;
}

/** accuracy, NLL, ECE (`bins` bins, default 15) and Brier score in one call. */
export function evaluate(probs: Probabilities, labels: Labels, bins = 15): Evaluation {
  return {
    accuracy: accuracy(probs, labels),
    nll: negativeLogLikelihood(probs, labels),
    ece: expectedCalibrationError(probs, labels, bins),
    brier: brierScore(probs, labels),
  };
}
