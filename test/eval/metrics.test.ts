import { describe, expect, it } from 'vitest';
import {
  accuracy,
  auroc,
  brierScore,
  eceFromBins,
  evaluate,
  expectedCalibrationError,
  maxProbability,
  MetricInputError,
  negativeLogLikelihood,
  oodAuroc,
  predictiveEntropy,
  reliabilityBins,
} from '../../eval/metrics.ts';
import { rng } from '../helpers/random.ts';

/*
 * The hand-worked case used throughout: 4 examples, 2 classes.
 *   row  probs        label  argmax  correct  confidence  p[label]
 *   0    [0.9, 0.1]   0      0       yes      0.9         0.9
 *   1    [0.6, 0.4]   1      0       no       0.6         0.4
 *   2    [0.3, 0.7]   1      1       yes      0.7         0.7
 *   3    [0.2, 0.8]   0      1       no       0.8         0.2
 */
const probs = new Float64Array([0.9, 0.1, 0.6, 0.4, 0.3, 0.7, 0.2, 0.8]);
const labels = [0, 1, 1, 0];

/** Random softmax rows [n, c] and labels drawn from a sharper version of the same rows. */
function randomProblem(n: number, c: number, seed: number): { probs: Float64Array; labels: number[] } {
  const r = rng(seed);
  const p = new Float64Array(n * c);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let k = 0; k < c; k++) sum += p[i * c + k] = Math.exp(4 * r());
    for (let k = 0; k < c; k++) p[i * c + k]! /= sum;
    y.push(Math.floor(r() * c));
  }
  return { probs: p, labels: y };
}

describe('accuracy', () => {
  it('counts argmax hits: 2 of the 4 hand-worked rows are right', () => {
    expect(accuracy(probs, labels)).toBe(0.5);
  });

  it('breaks exact ties toward the lowest class index', () => {
    expect(accuracy(new Float64Array([0.5, 0.5]), [0])).toBe(1);
    expect(accuracy(new Float64Array([0.5, 0.5]), [1])).toBe(0);
  });

  it('accepts float32 probabilities', () => {
    expect(accuracy(new Float32Array(probs), labels)).toBe(0.5);
  });
});

describe('negativeLogLikelihood', () => {
  it('is the mean of −log p[label]: −ln(0.9·0.4·0.7·0.2)/4 on the hand-worked rows', () => {
    expect(negativeLogLikelihood(probs, labels)).toBeCloseTo(-Math.log(0.0504) / 4, 12); // ≈ 0.746941
  });

  it('tends to 0 as predictions become certain and right', () => {
    for (const eps of [1e-2, 1e-4, 1e-8]) {
      const nll = negativeLogLikelihood(new Float64Array([1 - eps, eps, eps, 1 - eps]), [0, 1]);
      expect(nll).toBeCloseTo(-Math.log(1 - eps), 14); // ≈ eps
    }
    expect(negativeLogLikelihood(new Float64Array([1, 0, 0, 1]), [0, 1])).toBe(0);
  });

  it('clamps a zero probability on the true class at 1e-12 instead of returning ∞', () => {
    expect(negativeLogLikelihood(new Float64Array([1, 0]), [1])).toBeCloseTo(12 * Math.LN10, 10); // 27.631
  });
});

describe('brierScore', () => {
  it('sums squared errors over classes, averaged over examples: (0.02+0.72+0.18+1.28)/4 = 0.55', () => {
    // row 0: 0.1²+0.1²; row 1: 0.6²+0.6²; row 2: 0.3²+0.3²; row 3: 0.8²+0.8²
    expect(brierScore(probs, labels)).toBeCloseTo(0.55, 14);
  });

  it('is 0.5 for a uniform two-class prediction whatever the label', () => {
    expect(brierScore(new Float64Array([0.5, 0.5, 0.5, 0.5]), [0, 1])).toBe(0.5);
  });

  it('is 0 for perfect one-hot predictions and 2 for confident wrong ones', () => {
    expect(brierScore(new Float64Array([0, 1, 0, 1, 0, 0]), [1, 0])).toBe(0);
    expect(brierScore(new Float64Array([1, 0, 0]), [2])).toBe(2);
  });
});

describe('expectedCalibrationError and reliabilityBins', () => {
  it('with 15 bins gives each hand-worked row its own bin: (0.1+0.6+0.3+0.8)/4 = 0.45', () => {
    // conf 0.6 = 9/15 sits on an edge and belongs to (8/15, 9/15] (bin 8), 0.7 to bin 10,
    // 0.8 = 12/15 to bin 11, 0.9 to bin 13.
    const bins = reliabilityBins(probs, labels, 15);
    expect(bins).toHaveLength(15);
    expect(bins.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0]);
    expect(bins[8]).toMatchObject({ count: 1, accuracy: 0, confidence: 0.6 });
    expect(bins[13]).toMatchObject({ count: 1, accuracy: 1, confidence: 0.9 });
    expect(bins[3]).toEqual({ lo: 3 / 15, hi: 4 / 15, count: 0, accuracy: 0, confidence: 0 });
    expect(expectedCalibrationError(probs, labels, 15)).toBeCloseTo(0.45, 14);
  });

  it('with 2 bins pools everything into (0.5, 1]: |0.5 − 0.75| = 0.25', () => {
    expect(expectedCalibrationError(probs, labels, 2)).toBeCloseTo(0.25, 14);
  });

  it('uses right-inclusive bins: with 5 bins 0.8 joins 0.7 in (0.6, 0.8], ECE 0.3 (left-inclusive would give 0.4)', () => {
    // (0.4,0.6]: {0.6 wrong} → 0.6·¼; (0.6,0.8]: {0.7 right, 0.8 wrong} → |0.5−0.75|·½;
    // (0.8,1]: {0.9 right} → 0.1·¼.  Total 0.15 + 0.125 + 0.025 = 0.3.
    expect(expectedCalibrationError(probs, labels, 5)).toBeCloseTo(0.3, 14);
    expect(reliabilityBins(probs, labels, 5).map((b) => b.count)).toEqual([0, 0, 1, 2, 1]);
  });

  it('keeps values on or just past an edge on the right side despite rounding in conf·bins', () => {
    // 0.28 === 7/25, but 0.28·25 rounds to 7.000000000000001: it must stay in (6/25, 7/25], bin 6.
    expect(0.28 * 25).toBeGreaterThan(7);
    const onEdge = reliabilityBins(new Float64Array([0.28, 0.24, 0.24, 0.24]), [0], 25);
    expect(onEdge.findIndex((b) => b.count === 1)).toBe(6);
    // The double just above 1/3 times 3 rounds to exactly 1, yet it lies in (1/3, 2/3], bin 1.
    const third = 1 / 3;
    const above = third + Number.EPSILON * third;
    expect(above).toBeGreaterThan(third);
    expect(above * 3).toBe(1);
    const justAbove = reliabilityBins(new Float64Array([above, (1 - above) / 2, (1 - above) / 2]), [0], 3);
    expect(justAbove.map((b) => b.count)).toEqual([0, 1, 0]);
  });

  it('puts confidence exactly 1 in the last bin', () => {
    const bins = reliabilityBins(new Float64Array([1, 0]), [0], 10);
    expect(bins[9]!.count).toBe(1);
  });

  it('is 0 for perfect, certain predictions', () => {
    const onehot = new Float64Array([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(expectedCalibrationError(onehot, [2, 0, 1])).toBe(0);
  });

  it('matches a direct transcription of Guo et al.’s binning loop on random predictions', () => {
    const { probs: p, labels: y } = randomProblem(500, 4, 7);
    const nBins = 15;
    // Reference: for each bin, mask conf > lo && conf <= hi, exactly as in the temperature-scaling repo.
    const conf: number[] = [];
    const hit: number[] = [];
    for (let i = 0; i < y.length; i++) {
      const row = Array.from(p.subarray(i * 4, i * 4 + 4));
      const m = Math.max(...row);
      conf.push(m);
      hit.push(row.indexOf(m) === y[i] ? 1 : 0);
    }
    let ece = 0;
    for (let b = 0; b < nBins; b++) {
      const lo = b / nBins;
      const hi = (b + 1) / nBins;
      const inBin = conf.map((c, i) => i).filter((i) => conf[i]! > lo && conf[i]! <= hi);
      if (inBin.length === 0) continue;
      const acc = inBin.reduce((s, i) => s + hit[i]!, 0) / inBin.length;
      const avg = inBin.reduce((s, i) => s + conf[i]!, 0) / inBin.length;
      ece += (inBin.length / y.length) * Math.abs(acc - avg);
    }
    expect(expectedCalibrationError(p, y, nBins)).toBeCloseTo(ece, 12);
    const bins = reliabilityBins(p, y, nBins);
    expect(bins.reduce((s, b) => s + b.count, 0)).toBe(500);
    expect(eceFromBins(bins)).toBeCloseTo(ece, 12);
  });
});

describe('predictiveEntropy and maxProbability', () => {
  it('gives ln 2 for a fair coin, 0 for a certain row and ln 4 for uniform over 4', () => {
    const h2 = predictiveEntropy(new Float64Array([0.5, 0.5, 1, 0]), 2);
    expect(h2[0]).toBeCloseTo(Math.LN2, 14);
    expect(h2[1]).toBe(0);
    expect(predictiveEntropy(new Float64Array([0.25, 0.25, 0.25, 0.25]), 4)[0]).toBeCloseTo(2 * Math.LN2, 14);
  });

  it('returns each row’s largest probability', () => {
    expect(Array.from(maxProbability(probs, 2))).toEqual([0.9, 0.6, 0.7, 0.8]);
  });
});

/** P(pos > neg) + ½·P(pos = neg) by checking every pair: the definition, O(m·n). */
function pairwiseAuroc(pos: number[], neg: number[]): number {
  let s = 0;
  for (const a of pos) for (const b of neg) s += a > b ? 1 : a === b ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

describe('auroc', () => {
  it('counts ties as half: pos [0.9, 0.4, 0.4] vs neg [0.4, 0.1] wins 4 pairs and ties 2 → 5/6', () => {
    expect(auroc([0.9, 0.4, 0.4], [0.4, 0.1])).toBeCloseTo(5 / 6, 14);
  });

  it('is 1 for perfect separation, 0 for reversed, 0.5 when every score ties', () => {
    expect(auroc([3, 4, 5], [0, 1, 2])).toBe(1);
    expect(auroc([0, 1], [2, 3, 4])).toBe(0);
    expect(auroc([7, 7, 7], [7, 7])).toBe(0.5);
  });

  it('is 0.5 for identical score lists (ties between the copies)', () => {
    const scores = [0.1, 0.5, 0.5, 0.9, 0.3];
    expect(auroc(scores, scores)).toBeCloseTo(0.5, 14);
  });

  it('gives 1 − x when positives and negatives swap', () => {
    const r = rng(3);
    const pos = Array.from({ length: 40 }, () => Math.floor(r() * 6));
    const neg = Array.from({ length: 31 }, () => Math.floor(r() * 5));
    expect(auroc(neg, pos)).toBeCloseTo(1 - auroc(pos, neg), 14);
  });

  it('equals the pairwise definition on random scores with many ties and infinities', () => {
    const r = rng(11);
    const pick = () => [-Infinity, 0, 1, 1, 2, 3, Infinity][Math.floor(r() * 7)]!;
    const pos = Array.from({ length: 57 }, pick);
    const neg = Array.from({ length: 43 }, pick);
    expect(auroc(pos, neg)).toBeCloseTo(pairwiseAuroc(pos, neg), 14);
  });

  it('rejects empty or NaN scores', () => {
    expect(() => auroc([], [1])).toThrow(MetricInputError);
    expect(() => auroc([1], [NaN])).toThrow(/NaN/);
  });
});

describe('oodAuroc', () => {
  it('scores OOD as positive with −maxprob and entropy: a 2-class hand case gives 3/4 for both', () => {
    // −maxprob: id {−0.9, −0.6}, ood {−0.7, −0.5}; ood wins (−0.7>−0.9), (−0.5>−0.9), (−0.5>−0.6) → 3/4.
    // With 2 classes entropy is a decreasing function of maxprob, so it ranks the same way.
    const id = new Float64Array([0.9, 0.1, 0.6, 0.4]);
    const ood = new Float64Array([0.7, 0.3, 0.5, 0.5]);
    const r = oodAuroc(id, ood, 2);
    expect(r.maxProb).toBeCloseTo(0.75, 14);
    expect(r.entropy).toBeCloseTo(0.75, 14);
  });

  it('lets the two scores disagree where max probability and entropy rank rows differently', () => {
    // id [0.5, 0.5, 0]: maxprob 0.5, entropy ln 2 ≈ 0.693.  ood [0.6, 0.2, 0.2]: maxprob 0.6, entropy ≈ 0.950.
    const r = oodAuroc(new Float64Array([0.5, 0.5, 0]), new Float64Array([0.6, 0.2, 0.2]), 3);
    expect(r.maxProb).toBe(0); // the OOD row looks more confident
    expect(r.entropy).toBe(1); // …but more spread out
  });

  it('is 0.5 when the OOD set is the in-distribution set', () => {
    const { probs: p } = randomProblem(64, 3, 5);
    const r = oodAuroc(p, p, 3);
    expect(r.maxProb).toBeCloseTo(0.5, 14);
    expect(r.entropy).toBeCloseTo(0.5, 14);
  });
});

describe('evaluate', () => {
  it('bundles the four headline metrics of the hand-worked rows', () => {
    const e = evaluate(probs, labels);
    expect(e.accuracy).toBe(0.5);
    expect(e.nll).toBeCloseTo(-Math.log(0.0504) / 4, 12);
    expect(e.ece).toBeCloseTo(0.45, 14);
    expect(e.brier).toBeCloseTo(0.55, 14);
  });
});

describe('input checks', () => {
  it('rejects labels out of range, non-integer labels and a [n, c] layout that does not fit', () => {
    expect(() => accuracy(probs, [0, 1, 2, 0])).toThrow(/label 2 is 2/);
    expect(() => accuracy(probs, [0, 1, 0.5, 0])).toThrow(MetricInputError);
    expect(() => accuracy(probs, [0, 1, 1])).toThrow(/not a multiple/);
    expect(() => accuracy(new Float64Array([0.5, 0.5, 0.5, 0.5]), [0])).toThrow(/sums to 2/);
    expect(() => accuracy(new Float64Array([]), [])).toThrow(/no examples/);
    expect(() => brierScore(new Float64Array([NaN, 1]), [0])).toThrow(/not a probability/);
    expect(() => expectedCalibrationError(probs, labels, 0)).toThrow(/bins/);
    expect(() => predictiveEntropy(probs, 3)).toThrow(/multiple of 3/);
  });
});
