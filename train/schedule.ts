/**
 * The learning rate per step: linear warmup from 0 to `peak`, cosine decay to `minLr` at
 * `totalSteps`, and — when `swa` is set — a constant SWA learning rate from `swa.start` on, the
 * phase in which SWAG collects its snapshots (Maddox et al. 2019; Onal et al. 2024).
 *
 * Steps are 0-based: `learningRate(s)` is the rate of the update that takes the parameters from
 * step s to s + 1. Warmup is the line through 0 at step −1 and `peak` at step warmupSteps − 1,
 * so no step is spent at a rate of 0 (as HF's schedule spends its first); the cosine then starts
 * at `peak` at step warmupSteps and reaches `minLr` at step totalSteps, and stays there after.
 */

export interface Schedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** Where the cosine ends (default 0). */
  minLr?: number;
  /**
   * From step `start` on, the SWA rate `lr`: constant, or with `anneal` annealed linearly over
   * `anneal.epochs` epochs of `anneal.stepsPerEpoch` steps to `lr / anneal.divisor` (torch's
   * `SWALR(anneal_strategy="linear")` stepped once per epoch, as SWAG-LoRA's code steps it).
   */
  swa?: { start: number; lr: number; anneal?: SwaAnneal };
}

export interface SwaAnneal {
  epochs: number;
  stepsPerEpoch: number;
  divisor: number;
}

export class ScheduleError extends RangeError {
  override name = 'ScheduleError';
}

function checkSchedule(s: Schedule): void {
  const rate = (name: string, x: number | undefined) => {
    if (x !== undefined && !(Number.isFinite(x) && x >= 0)) throw new ScheduleError(`learning-rate schedule: ${name} must be a finite number ≥ 0, got ${x}`);
  };
  const count = (name: string, x: number) => {
    if (!(Number.isInteger(x) && x >= 0)) throw new ScheduleError(`learning-rate schedule: ${name} must be an integer ≥ 0, got ${x}`);
  };
  rate('peak', s.peak);
  rate('minLr', s.minLr);
  count('warmupSteps', s.warmupSteps);
  count('totalSteps', s.totalSteps);
  if (s.warmupSteps > s.totalSteps) throw new ScheduleError(`learning-rate schedule: ${s.warmupSteps} warmup steps are more than the ${s.totalSteps} total steps`);
  if ((s.minLr ?? 0) > s.peak) throw new ScheduleError(`learning-rate schedule: minLr ${s.minLr} is above the peak ${s.peak}`);
  if (s.swa) {
    count('swa.start', s.swa.start);
    rate('swa.lr', s.swa.lr);
    const a = s.swa.anneal;
    if (a) {
      count('swa.anneal.epochs', a.epochs);
      if (!(Number.isInteger(a.stepsPerEpoch) && a.stepsPerEpoch > 0)) throw new ScheduleError(`learning-rate schedule: swa.anneal.stepsPerEpoch must be an integer > 0, got ${a.stepsPerEpoch}`);
      if (!(Number.isFinite(a.divisor) && a.divisor >= 1)) throw new ScheduleError(`learning-rate schedule: swa.anneal.divisor must be a finite number ≥ 1, got ${a.divisor}`);
    }
  }
}

/** The learning rate of step `step` (0-based) under schedule `s`. */
export function learningRate(step: number, s: Schedule): number {
  checkSchedule(s);
  if (!(Number.isInteger(step) && step >= 0)) throw new ScheduleError(`learning-rate schedule: the step must be an integer ≥ 0, got ${step}`);
  if (s.swa && step >= s.swa.start) return swaRate(step - s.swa.start, s.swa.lr, s.swa.anneal);
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  const minLr = s.minLr ?? 0;
  const decaySteps = s.totalSteps - s.warmupSteps;
  if (decaySteps === 0) return minLr;
  const progress = Math.min(1, (step - s.warmupSteps) / decaySteps);
  return minLr + (s.peak - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/**
 * The SWA phase's rate at its step `j` (0-based). SWALR with E anneal epochs: during SWA epoch e
 * the rate is lr + (lr / divisor − lr) · min(1, e / E), so the first epoch runs at `lr` and every
 * epoch from E on at `lr / divisor`.
 */
export function swaRate(j: number, lr: number, anneal?: SwaAnneal): number {
  if (!anneal) return lr;
  // As SWALR with anneal_epochs 0: the target rate from the first step.
  if (anneal.epochs === 0) return lr / anneal.divisor;
  const e = Math.floor(j / anneal.stepsPerEpoch);
  const t = Math.min(1, e / anneal.epochs);
  // torch's own form, swa_lr·α + lr·(1 − α): exactly the target once the anneal is over.
  return (lr / anneal.divisor) * t + lr * (1 - t);
}
