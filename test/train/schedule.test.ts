import { describe, expect, it } from 'vitest';
import { type Schedule, ScheduleError, learningRate } from '../../train/schedule.ts';

// Warmup over steps 0..9, cosine over steps 10..110 (100 steps), then the floor.
const S: Schedule = { peak: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-5 };

describe('learningRate', () => {
  it('warms up linearly from 0 to the peak', () => {
    // peak·(step + 1)/10: the line through 0 at step −1.
    expect(learningRate(0, S)).toBeCloseTo(1e-4, 15);
    expect(learningRate(4, S)).toBeCloseTo(5e-4, 15);
    expect(learningRate(9, S)).toBeCloseTo(1e-3, 15);
  });

  it('decays along a cosine to minLr at totalSteps, and stays there', () => {
    expect(learningRate(10, S)).toBeCloseTo(1e-3, 15);
    // progress ¼: 1e-5 + 9.9e-4·½·(1 + cos(π/4)) = 1e-5 + 9.9e-4·0.8535533906 = 8.550178567e-4
    expect(learningRate(35, S)).toBeCloseTo(8.550178567e-4, 12);
    // progress ½: 1e-5 + 9.9e-4·½ = 5.05e-4
    expect(learningRate(60, S)).toBeCloseTo(5.05e-4, 15);
    // progress ¾: 1e-5 + 9.9e-4·½·(1 − cos(π/4)) = 1e-5 + 9.9e-4·0.1464466094 = 1.549821433e-4
    expect(learningRate(85, S)).toBeCloseTo(1.549821433e-4, 12);
    expect(learningRate(110, S)).toBeCloseTo(1e-5, 15);
    expect(learningRate(500, S)).toBeCloseTo(1e-5, 15);
  });

  it('decays to 0 when minLr is not given', () => {
    const { minLr: _, ...noFloor } = S;
    expect(learningRate(60, noFloor)).toBeCloseTo(5e-4, 15);
    expect(learningRate(110, noFloor)).toBe(0);
  });

  it('switches to the constant SWA rate from swa.start on', () => {
    const swa: Schedule = { ...S, swa: { start: 80, lr: 2e-4 } };
    expect(learningRate(79, swa)).toBe(learningRate(79, S));
    for (const step of [80, 81, 110, 1000]) expect(learningRate(step, swa)).toBe(2e-4);
  });

  it('is continuous: no step changes the rate by more than the warmup or cosine slope allows', () => {
    const warmupSlope = S.peak / S.warmupSteps;
    // |d/ds| of the cosine is at most (peak − minLr)·π / (2·decay steps).
    const cosineSlope = ((S.peak - S.minLr!) * Math.PI) / (2 * (S.totalSteps - S.warmupSteps));
    for (let step = 1; step <= 120; step++) {
      const jump = Math.abs(learningRate(step, S) - learningRate(step - 1, S));
      expect(jump, `step ${step}`).toBeLessThanOrEqual((step < S.warmupSteps ? warmupSlope : cosineSlope) * (1 + 1e-12));
    }
  });

  it('has no warmup when warmupSteps is 0', () => {
    expect(learningRate(0, { ...S, warmupSteps: 0 })).toBeCloseTo(1e-3, 15);
  });

  it('throws ScheduleError for a bad step or schedule', () => {
    expect(() => learningRate(-1, S)).toThrow(ScheduleError);
    expect(() => learningRate(1.5, S)).toThrow(ScheduleError);
    expect(() => learningRate(0, { ...S, warmupSteps: 200 })).toThrow(/200 warmup steps are more than the 110 total/);
    expect(() => learningRate(0, { ...S, peak: Number.NaN })).toThrow(ScheduleError);
    expect(() => learningRate(0, { ...S, minLr: 1 })).toThrow(/above the peak/);
    expect(() => learningRate(0, { ...S, swa: { start: 5, lr: -1 } })).toThrow(/swa.lr/);
  });
});

describe('the SWA anneal (SWALR, linear, stepped per epoch)', () => {
  // SWA from step 100, 10 steps an epoch, from 0.08 to 0.08/4 = 0.02 over 3 epochs.
  const A: Schedule = { ...S, swa: { start: 100, lr: 0.08, anneal: { epochs: 3, stepsPerEpoch: 10, divisor: 4 } } };

  it('holds lr + (lr/divisor − lr)·min(1, e/E) through SWA epoch e', () => {
    // Closed form by hand: e = 0 → 0.08; e = 1 → 0.08 − 0.06/3 = 0.06; e = 2 → 0.04; e ≥ 3 → 0.02.
    const byEpoch = [0.08, 0.06, 0.04, 0.02, 0.02];
    for (let j = 0; j < 50; j++) expect(learningRate(100 + j, A), `SWA step ${j}`).toBeCloseTo(byEpoch[Math.floor(j / 10)]!, 15);
    expect(learningRate(99, A)).toBe(learningRate(99, S));
  });

  it('matches torch SWALR: anneal epochs 0 is the target at once, divisor 1 the constant rate', () => {
    const at = (anneal: { epochs: number; divisor: number }, step: number) => learningRate(step, { ...S, swa: { start: 100, lr: 0.08, anneal: { ...anneal, stepsPerEpoch: 10 } } });
    expect(at({ epochs: 0, divisor: 4 }, 100)).toBeCloseTo(0.02, 15);
    for (const step of [100, 125, 300]) expect(at({ epochs: 3, divisor: 1 }, step)).toBe(0.08);
  });

  it('rejects a divisor below 1 or a fractional anneal', () => {
    expect(() => learningRate(0, { ...S, swa: { start: 5, lr: 0.1, anneal: { epochs: 2, stepsPerEpoch: 10, divisor: 0.5 } } })).toThrow(/divisor/);
    expect(() => learningRate(0, { ...S, swa: { start: 5, lr: 0.1, anneal: { epochs: 1.5, stepsPerEpoch: 10, divisor: 2 } } })).toThrow(/anneal.epochs/);
  });
});
