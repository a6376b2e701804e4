/** Plain-JS reference for kernels/swag.ts: the same moments, ring buffer and sampling rule, in f64. */
import { type PhiloxStream, randomNormalCpu } from './philox.ts';

export interface SwagStateCpu {
  P: number;
  K: number;
  mean: Float64Array;
  sqMean: Float64Array;
  /** [K, P], row-major. */
  deviations: Float64Array;
  n: number;
}

export function createSwagStateCpu(P: number, K: number): SwagStateCpu {
  return { P, K, mean: new Float64Array(P), sqMean: new Float64Array(P), deviations: new Float64Array(K * P), n: 0 };
}

/** One snapshot: moments, then row n mod K ← θ − updated mean. */
export function swagCollectCpu(state: SwagStateCpu, theta: ArrayLike<number>): void {
  const { P, n } = state;
  const row = n % state.K;
  for (let i = 0; i < P; i++) {
    const t = theta[i]!;
    state.mean[i] = (n * state.mean[i]! + t) / (n + 1);
    state.sqMean[i] = (n * state.sqMean[i]! + t * t) / (n + 1);
    state.deviations[row * P + i] = t - state.mean[i]!;
  }
  state.n++;
}

export interface SwagSampleCpuOptions {
  key: readonly [number, number];
  scale?: number;
  eps?: number;
  diagonalOnly?: boolean;
  offset?: number;
}

/** θ̃ = mean + √scale·σ⊙z₁ + √(scale/(K_eff−1))·Dᵀz₂ with z₁, z₂ from Philox streams 0 and 1. */
export function swagSampleCpu(state: SwagStateCpu, options: SwagSampleCpuOptions): Float64Array {
  const { P } = state;
  const { scale = 0.5, eps = 1e-30, offset = 0 } = options;
  const kEff = Math.min(state.n, state.K);
  const lowRank = !options.diagonalOnly && kEff >= 2;
  const stream = (s: number): PhiloxStream => ({ key: options.key, stream: s, offset });
  const z1 = randomNormalCpu(P, stream(0));
  const z2 = randomNormalCpu(kEff, stream(1));
  const out = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    // sq_mean − mean² in f32 arithmetic, as the kernel computes it: where the variance is 0 the
    // cancellation is exact in f32 and ε takes over, which f64 would not reproduce.
    const m = Math.fround(state.mean[i]!);
    const variance = Math.max(Math.fround(Math.fround(state.sqMean[i]!) - Math.fround(m * m)), eps);
    let value = m + Math.sqrt(scale) * Math.sqrt(variance) * z1[i]!;
    if (lowRank) {
      let low = 0;
      for (let j = 0; j < kEff; j++) low += state.deviations[j * P + i]! * z2[j]!;
      value += Math.sqrt(scale / (kEff - 1)) * low;
    }
    out[i] = value;
  }
  return out;
}
