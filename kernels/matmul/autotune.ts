import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Device } from '../../runtime/device.ts';
import type { Tensor } from '../../runtime/tensor.ts';
import { timeGpu } from '../../runtime/timing.ts';
import { type MatmulConfig, type MatmulShape, configName, configProblem, defaultConfig, tuningCandidates } from './config.ts';
import { type MatmulArgs, deviceTarget, matmul, matmulShapeOf, resolveMatmulArgs } from './launch.ts';

/** One candidate's measured time (Infinity when it failed to compile or run). */
export interface ConfigTiming {
  config: MatmulConfig;
  ms: number;
}

/**
 * The winner of a tuning run, as a pure function of the timings: the fastest finite time; on a
 * tie the earlier candidate (candidates come best-first, so ties keep the expected choice);
 * `fallback` when nothing ran.
 */
export function pickFastest(timings: readonly ConfigTiming[], fallback: MatmulConfig): MatmulConfig {
  let best: ConfigTiming | undefined;
  for (const t of timings) {
    if (!Number.isFinite(t.ms) || t.ms < 0) continue;
    if (!best || t.ms < best.ms) best = t;
  }
  return best ? best.config : fallback;
}

/** Small, varied, finite operand values: what a timing run multiplies (the values do not matter, denormals and NaNs would). */
function filler(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 17) / 16 - 0.5);
}

const bucket = (n: number): number => (n <= 1 ? n : 2 ** Math.ceil(Math.log2(n)));

/**
 * The class of shapes one tuned config is reused for: each size rounded up to a power of two,
 * the transposes, and which sizes are multiples of 4 (that decides the vec4 loads). Pure.
 */
export function shapeClassKey(shape: MatmulShape & { transA?: boolean; transB?: boolean }): string {
  const K2 = shape.K2 ?? 0;
  const four = [shape.M, shape.N, shape.K, ...(K2 ? [K2] : [])].map((n) => (n % 4 === 0 ? '4' : '1')).join('');
  const sizes = `${bucket(shape.M)}x${bucket(shape.N)}x${bucket(shape.K)}${K2 ? `+${bucket(K2)}` : ''}`;
  return `mm.${sizes}.b${bucket(shape.batch ?? 1)}.${shape.transA ? 't' : 'n'}${shape.transB ? 't' : 'n'}.d${four}`;
}

export interface AutotuneOptions {
  /** When false nothing is timed: a cached winner if there is one, else `defaultConfig`. */
  enabled?: boolean;
  /** A JSON file that keeps winners across runs (read at construction, written after each tuning). */
  cacheFile?: string;
  /** Timed runs per candidate after one warm-up run; the best counts. Default 2. */
  samples?: number;
  /** Candidates to time instead of `tuningCandidates` (best-first). */
  candidates?: (shape: MatmulShape) => MatmulConfig[];
  /** Where to say what was timed. */
  log?: (line: string) => void;
}

interface CacheEntry {
  config: MatmulConfig;
  ms?: number;
}

interface CacheFile {
  version: 1;
  entries: Record<string, CacheEntry>;
}

function readCacheFile(path: string): Record<string, CacheEntry> {
  if (!existsSync(path)) return {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CacheFile>;
    return parsed.version === 1 && parsed.entries && typeof parsed.entries === 'object' ? parsed.entries : {};
  } catch {
    // A damaged cache only costs a re-tune.
    return {};
  }
}

/**
 * Picks a matmul config per shape class by timing a few candidates once, on the call's own
 * operands, and remembers the winner in memory (and in `cacheFile` if given). Keys are
 * prefixed with the device, so a cache file written on llvmpipe does not steer a GPU.
 */
export class MatmulAutotuner {
  private readonly winners = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<MatmulConfig>>();
  private readonly measured = new Map<string, ConfigTiming[]>();
  readonly enabled: boolean;

  constructor(
    readonly device: Device,
    private readonly options: AutotuneOptions = {},
  ) {
    this.enabled = options.enabled ?? true;
    if (options.cacheFile) {
      for (const [key, entry] of Object.entries(readCacheFile(options.cacheFile))) {
        if (entry && typeof entry === 'object' && configProblem(entry.config, device.limits) === undefined) this.winners.set(key, entry);
      }
    }
  }

  private fullKey(key: string): string {
    return `${this.device.describe()}|${key}`;
  }

  /** The remembered winner for a key, if any. */
  cached(key: string): MatmulConfig | undefined {
    const entry = this.winners.get(this.fullKey(key));
    return entry ? { ...entry.config } : undefined;
  }

  /** Every remembered winner for this device, by shape class key: what a compile's `matmulConfigs` takes. */
  rememberedConfigs(): Record<string, MatmulConfig> {
    const prefix = this.fullKey('');
    const known: Record<string, MatmulConfig> = {};
    for (const [full, entry] of this.winners) if (full.startsWith(prefix)) known[full.slice(prefix.length)] = { ...entry.config };
    return known;
  }

  /** The timings of the last tuning run for a key in this process (empty if it was cached). */
  timingsFor(key: string): ConfigTiming[] {
    return [...(this.measured.get(this.fullKey(key)) ?? [])];
  }

  /**
   * The config for this call: the winner remembered for `key` (default: the shape class), else
   * a tuning run on these operands (nothing is written to `args.out`), else the default.
   */
  async configFor(args: MatmulArgs, key?: string): Promise<MatmulConfig> {
    const shape = matmulShapeOf(args);
    const k = key ?? shapeClassKey({ ...shape, transA: args.transA, transB: args.transB });
    const known = this.cached(k);
    if (known) return known;
    if (!this.enabled) return defaultConfig(shape, this.device.limits, deviceTarget(this.device));
    const full = this.fullKey(k);
    let tuning = this.pending.get(full);
    if (!tuning) {
      tuning = this.tune(args, shape, full).finally(() => this.pending.delete(full));
      this.pending.set(full, tuning);
    }
    return { ...(await tuning) };
  }

  /**
   * The config for a shape class known only by its sizes (what a compiler reports): the
   * remembered winner, else a tuning run on operands made for it (batched operands are full,
   * a concatenated pair is included), released afterwards.
   */
  async configForShape(shape: Required<MatmulShape>, transA: boolean, transB: boolean, key?: string): Promise<MatmulConfig> {
    const k = key ?? shapeClassKey({ ...shape, transA, transB });
    const known = this.cached(k);
    if (known || !this.enabled) return known ?? defaultConfig(shape, this.device.limits, deviceTarget(this.device));
    const { M, N, K, K2, batch } = shape;
    const lead = batch > 1 ? [batch] : [];
    const operand = (dims: number[]) => this.device.tensor([...lead, ...dims], filler(batch * dims[0]! * dims[1]!));
    const made: Tensor[] = [];
    const keep = (t: Tensor) => (made.push(t), t);
    try {
      const args: MatmulArgs = {
        a: keep(operand(transA ? [K, M] : [M, K])),
        b: keep(operand(transB ? [N, K] : [K, N])),
        transA,
        transB,
        ...(K2 > 0 ? { concat: { a2: keep(operand([M, K2])), b2: keep(operand([N, K2])), scale: 0.5 } } : {}),
      };
      args.out = keep(this.device.empty([...lead, M, N]));
      return await this.configFor(args, k);
    } finally {
      for (const t of made) t.release();
    }
  }

  private async tune(args: MatmulArgs, shape: MatmulShape, fullKey: string): Promise<MatmulConfig> {
    const candidates = this.options.candidates?.(shape) ?? tuningCandidates(shape, this.device.limits, deviceTarget(this.device));
    const timings = await this.timeCandidates(args, candidates);
    this.measured.set(fullKey, timings);
    const winner = pickFastest(timings, defaultConfig(shape, this.device.limits, deviceTarget(this.device)));
    const ms = timings.find((t) => t.config === winner)?.ms;
    this.winners.set(fullKey, { config: winner, ...(ms !== undefined ? { ms } : {}) });
    this.options.log?.(`autotune ${fullKey}: ${configName(winner)}${ms !== undefined ? ` (${ms.toFixed(2)} ms)` : ''}`);
    this.save();
    return winner;
  }

  /**
   * Times each candidate on these operands, into a scratch output: one warm-up run (it compiles
   * the pipeline), then `samples` timed runs, the best of which counts. A candidate whose first
   * timed run is 4× slower than the best so far is not run again.
   */
  async timeCandidates(args: MatmulArgs, candidates: readonly MatmulConfig[]): Promise<ConfigTiming[]> {
    const samples = Math.max(1, this.options.samples ?? 2);
    const scratch: Tensor = this.device.zeros(resolveMatmulArgs(args).outShape);
    const timings: ConfigTiming[] = [];
    let best = Infinity;
    try {
      for (const config of candidates) {
        const run = async () => {
          await matmul(this.device, { ...args, c: args.c ?? (args.beta ? scratch : undefined), out: scratch, config });
        };
        let ms = Infinity;
        try {
          const first = await timeGpu(this.device, run, { warmup: 1, samples: 1 });
          ms = first.minMs;
          if (samples > 1 && ms < 4 * best) ms = Math.min(ms, (await timeGpu(this.device, run, { warmup: 0, samples: samples - 1 })).minMs);
        } catch (e) {
          this.options.log?.(`autotune: ${configName(config)} failed: ${e instanceof Error ? e.message : String(e)}`);
          await this.device.sync().catch(() => undefined);
        }
        best = Math.min(best, ms);
        timings.push({ config, ms });
        this.options.log?.(`autotune: ${configName(config)} ${Number.isFinite(ms) ? `${ms.toFixed(2)} ms` : 'failed'}`);
      }
    } finally {
      scratch.release();
    }
    return timings;
  }

  private save(): void {
    const path = this.options.cacheFile;
    if (!path) return;
    // Merge with what is on disk now: another process may have tuned other shapes meanwhile.
    const entries = { ...readCacheFile(path), ...Object.fromEntries(this.winners) };
    const file: CacheFile = { version: 1, entries };
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`);
    renameSync(tmp, path);
  }
}
