/**
 * Autotuning inside compilation. The compiler is pure and knows nothing of devices, so tuning
 * wraps it: compile once, hearing which matmul shape classes the programs use
 * (`onMatmulClass`); time the candidate tile configs on the device for the classes worth it and
 * not yet remembered (kernels/matmul/autotune.ts, on operands made for each class); compile
 * again with the winners, only when one differs from what the first compile chose. With every
 * class remembered (the cache file of an earlier run), it costs one compile and no timing.
 *
 * Skinny products (codegen/wgsl/skinnyMatmul.ts) are chosen by shape, not tuned: they report no
 * class.
 */
import { type MatmulConfig, type MatmulShape, configName } from '../kernels/matmul/config.ts';
import { MatmulAutotuner } from '../kernels/matmul/autotune.ts';
import type { MatmulClassUse } from '../compiler/schedule/types.ts';
import type { Device } from '../runtime/device.ts';

export interface MatmulAutotuneOptions {
  /** A JSON file that keeps winners across runs, keyed by device; without one they last the process. */
  cacheFile?: string;
  /**
   * Classes whose launches add up to fewer multiply-add FLOPs than this are not tuned: timing
   * them (a pipeline compile per candidate) costs more than it could save. Default 1e8.
   */
  minFlops?: number;
  /** Timed runs per candidate (the best counts). Default 2. */
  samples?: number;
  /** Candidates to time instead of `tuningCandidates` (best-first), e.g. a short list in a test. */
  candidates?: (shape: MatmulShape) => MatmulConfig[];
  /** Where to say what was tuned. */
  log?: (line: string) => void;
}

export const DEFAULT_MIN_TUNED_FLOPS = 1e8;

/** Where the bench and `swaglet profile` keep their winners (relative to the working directory). */
export const DEFAULT_TUNING_CACHE = '.swaglet-cache/matmul-autotune.json';

/** One shape class a program uses, with the FLOPs of all its launches. */
export interface MatmulClassDemand {
  use: MatmulClassUse;
  flops: number;
  launches: number;
}

/**
 * The classes worth tuning, as a pure function of the launches a compile reported: one entry per
 * key (its first launch's sizes stand for it), those at or above `minFlops` in all, most FLOPs first.
 */
export function classesWorthTuning(uses: readonly MatmulClassUse[], minFlops = DEFAULT_MIN_TUNED_FLOPS): MatmulClassDemand[] {
  const byKey = new Map<string, MatmulClassDemand>();
  for (const use of uses) {
    const { M, N, K, K2, batch } = use.shape;
    const flops = 2 * M * N * (K + K2) * batch;
    const d = byKey.get(use.key);
    if (d) {
      d.flops += flops;
      d.launches++;
    } else byKey.set(use.key, { use, flops, launches: 1 });
  }
  return [...byKey.values()].filter((d) => d.flops >= minFlops).sort((a, b) => b.flops - a.flops || (a.use.key < b.use.key ? -1 : 1));
}

/** The tuners of this process, per device and cache file: winners found once serve every later compile. */
const tuners = new WeakMap<Device, Map<string, MatmulAutotuner>>();

function tunerFor(device: Device, options: MatmulAutotuneOptions): MatmulAutotuner {
  let byFile = tuners.get(device);
  if (!byFile) tuners.set(device, (byFile = new Map()));
  const file = options.cacheFile ?? '';
  let tuner = byFile.get(file);
  if (!tuner) {
    tuner = new MatmulAutotuner(device, {
      ...(options.cacheFile ? { cacheFile: options.cacheFile } : {}),
      ...(options.samples !== undefined ? { samples: options.samples } : {}),
      ...(options.candidates ? { candidates: options.candidates } : {}),
    });
    byFile.set(file, tuner);
  }
  return tuner;
}

/** What a compile takes from tuning: the configs to use and an ear for the classes it uses. */
export interface TuningHooks {
  matmulConfigs: Readonly<Record<string, MatmulConfig>>;
  onMatmulClass: (use: MatmulClassUse) => void;
}

/**
 * Runs `compileWith` with tuned matmul configs: once with what is remembered, then, if tuning
 * found a winner the first compile did not use, again with it. `ok` false (a compile error)
 * returns the first result untouched.
 */
export async function compileWithTunedMatmuls<R extends { ok: boolean }>(device: Device, compileWith: (hooks: TuningHooks) => R, options: MatmulAutotuneOptions = {}): Promise<R> {
  const tuner = tunerFor(device, options);
  const uses: MatmulClassUse[] = [];
  const first = compileWith({ matmulConfigs: tuner.rememberedConfigs(), onMatmulClass: (use) => uses.push(use) });
  if (!first.ok) return first;
  let changed = false;
  for (const { use, flops, launches } of classesWorthTuning(uses, options.minFlops)) {
    if (tuner.cached(use.key)) continue;
    const { shape, transA, transB } = use;
    const t0 = performance.now();
    const winner = await tuner.configForShape(shape, transA, transB, use.key);
    const took = ((performance.now() - t0) / 1000).toFixed(1);
    options.log?.(`autotune ${use.key} (${launches} launch${launches === 1 ? '' : 'es'}, ${(flops / 1e9).toFixed(2)} GFLOP): ${configName(winner)} in ${took} s`);
    // Shapes of one class may have had different default configs: any launch that did not get the winner.
    if (uses.some((u) => u.key === use.key && configName(u.config) !== configName(winner))) changed = true;
  }
  return changed ? compileWith({ matmulConfigs: tuner.rememberedConfigs(), onMatmulClass: () => undefined }) : first;
}
