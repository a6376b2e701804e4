/**
 * swaglet's package entry (`import { compile } from 'swaglet'`): the live API. Compiles `.swag`
 * source for a device and loads every unit on it, a thin untyped twin of the classes that
 * `swaglet compile` generates:
 *
 *     const [lora] = await compile(text, { device, file: 'lora.swag', dims: { out: 8, in: 12 }, weights: { W }, seed: 1 });
 *     const { y } = lora.forward({ x });
 *     lora.destroy();
 *
 * Each unit starts initialized: parameters from their initializers (seeded by `seed`), frozen
 * tensors from `weights` (a map of arrays, a safetensors checkpoint, or 'zeros' on purpose),
 * state (SWAG statistics) at zero.
 *
 * It sits above the compiler and the runtime and imports both; the compiler imports no runtime
 * values. Compilation problems throw one CompileError: its message is the formatted diagnostics,
 * its `diagnostics` the same problems as values, spans kept.
 */
import { type CompileSwagOptions, type CompiledUnit, type MethodName, compileSwag } from './compiler/compile.ts';
import type { ScheduleLimits } from './compiler/schedule/types.ts';
import { type InitialValuesOptions, type WeightsOption, initialValues, splitWeights } from './api/initialValues.ts';
import { type MatmulAutotuneOptions, compileWithTunedMatmuls } from './api/tuneMatmuls.ts';
import type { Diagnostic } from './compiler/syntax/diagnostic.ts';
import { type Device, type LoadedModule, type ProgramFeed, type SharedTensorInfo, type Tensor, loadModule } from './runtime/index.ts';

export { type InitialValuesOptions, type TensorInit, type WeightsOption, initialValues } from './api/initialValues.ts';
export { type MatmulAutotuneOptions } from './api/tuneMatmuls.ts';
export { BaseWeightsError, type BaseWeightsOptions, type RenameTable, type RenameTarget, loadBaseWeights } from './io/baseWeights.ts';
export { type CompileSwagOptions, type CompileSwagResult, type CompiledUnit, DEFAULT_DIMS, compileSwag } from './compiler/compile.ts';

export interface CompileOptions {
  device: Device;
  /** The file name diagnostics show; default '<input>'. */
  file?: string;
  entries?: readonly string[];
  dims?: Readonly<Record<string, number>>;
  /** Reads imported files (paths as the checker asks for them). */
  readFile?: (path: string) => string | undefined;
  /** Also compile `dropoutForward` (MC dropout). */
  dropoutForward?: boolean;
  /** Scalars of a posterior entry (Laplace's `prior_precision`), over its declared defaults. */
  posteriorScalars?: Readonly<Record<string, number>>;
  /** Compile a `prefix` method and cut the other methods at the frozen prefix it caches. */
  splitFrozenPrefix?: boolean;
  /**
   * Also compile `drawsForward`: the forward over this many parameter draws at once, or fewer
   * when they would not fit the device's largest storage binding (`compiled.draws` says how many).
   */
  draws?: number;
  /** Examples per `collectLinears` call (a posterior over linears; default 1): its taps stacked by rows. */
  linearsExamples?: number;
  /** The seed of the parameters' initializers (default 0): the same seed gives the same bytes. */
  seed?: number;
  /**
   * The frozen tensors' values (see WeightsOption): required when a unit has frozen tensors, and
   * an error naming those it lacks; `'zeros'` leaves them at zero on purpose.
   */
  weights?: WeightsOption;
  /**
   * Tune the matmul tile configs of the programs on `device` before loading them
   * (api/tuneMatmuls.ts): `true` with the defaults, or options (a cache file that keeps the
   * winners across runs, the smallest class worth tuning). Off by default: a first tuning run
   * compiles and times several kernels per shape class.
   */
  autotune?: boolean | MatmulAutotuneOptions;
}

export type { Diagnostic } from './compiler/syntax/diagnostic.ts';

/** What `compile` throws for problems in the source or the request: the message prints them, `diagnostics` holds them. */
export class CompileError extends Error {
  override name = 'CompileError';
  constructor(
    message: string,
    readonly diagnostics: readonly Diagnostic[],
  ) {
    super(message);
  }
}

export type Feeds = Readonly<Record<string, ProgramFeed>>;

/** One compiled unit, loaded on the device. Methods it lacks throw a clear error. */
export interface LiveUnit {
  name: string;
  kind: CompiledUnit['kind'];
  module: LoadedModule<MethodName>;
  /** The compiled unit: programs, simplified graphs, the lowering's tensors and theta layout. */
  compiled: CompiledUnit;
  /** Which methods it has. */
  methods: MethodName[];
  /** Every shared tensor (params, frozen, state): name, role, shape, dtype. */
  tensors: readonly SharedTensorInfo[];
  /** With `splitFrozenPrefix`: the per-example `cache.<k>` tensors from the data inputs. */
  prefix(feeds?: Feeds): Record<string, Tensor>;
  forward(feeds?: Feeds): Record<string, Tensor>;
  /** With `dropoutForward`: the forward pass with dropout on (`seed` picks the masks). */
  dropoutForward(feeds?: Feeds): Record<string, Tensor>;
  /** With `draws`: the forward over `compiled.draws` parameter sets, each parameter P fed as `draws.P` [D, ...]. */
  drawsForward(feeds?: Feeds): Record<string, Tensor>;
  backward(feeds?: Feeds): Record<string, Tensor>;
  collect(feeds?: Feeds): Record<string, Tensor>;
  /** A finetune with a posterior over linears: one example's taps (as `backward` returns them) into its statistics. */
  collectLinears(feeds?: Feeds): Record<string, Tensor>;
  sample(feeds?: Feeds): Record<string, Tensor>;
  /** The trainable tensors, on the device. */
  parameters(): Record<string, Tensor>;
  tensor(name: string): Tensor;
  set(name: string, data: ArrayLike<number>): void;
  destroy(): void;
}

/** Compiles `source` for `device` (its target and limits) and loads every unit on it. */
export async function compile(source: string, options: CompileOptions): Promise<LiveUnit[]> {
  const { device } = options;
  const swagOptions: CompileSwagOptions = {
    target: device.report.isCpu ? 'cpu' : 'gpu',
    limits: device.limits as unknown as ScheduleLimits,
    ...(options.entries ? { entries: options.entries } : {}),
    ...(options.dims ? { dims: options.dims } : {}),
    ...(options.posteriorScalars ? { posteriorScalars: options.posteriorScalars } : {}),
    ...(options.linearsExamples !== undefined && options.linearsExamples > 1 ? { linearsExamples: options.linearsExamples } : {}),
    ...(options.readFile ? { readFile: options.readFile } : {}),
    ...(options.dropoutForward ? { dropoutForward: true } : {}),
    ...(options.splitFrozenPrefix ? { splitFrozenPrefix: true } : {}),
    ...(options.draws !== undefined ? { draws: { count: options.draws, maxBufferBytes: device.limits.maxStorageBufferBindingSize } } : {}),
  };
  const file = options.file ?? '<input>';
  const result = options.autotune
    ? await compileWithTunedMatmuls(device, (hooks) => compileSwag(source, file, { ...swagOptions, ...hooks }), options.autotune === true ? {} : options.autotune)
    : compileSwag(source, file, swagOptions);
  if (!result.ok) throw new CompileError(result.diagnostics.map((d) => (d.endsWith('\n') ? d : `${d}\n`)).join('').trimEnd(), result.problems);
  // Every unit's first values before anything goes on the device: a weights problem costs no GPU work.
  const networks = result.units.filter((u) => u.network).map((u) => ({ name: u.name, tensors: u.network!.tensors }));
  const weights = await splitWeights(networks, options.weights);
  const values = new Map<string, Map<string, Float32Array>>();
  for (const [i, n] of networks.entries()) {
    const init: InitialValuesOptions = { ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(weights[i] !== undefined ? { weights: weights[i] } : {}) };
    values.set(n.name, await initialValues(n.name, n.tensors, init));
  }
  const live: LiveUnit[] = [];
  try {
    for (const unit of result.units) {
      const u = await loadUnit(device, unit);
      live.push(u);
      const shared = new Set(u.tensors.map((t) => t.name));
      for (const [name, v] of values.get(unit.name) ?? []) if (shared.has(name)) u.set(name, v);
    }
  } catch (e) {
    for (const u of live) u.destroy();
    throw e;
  }
  return live;
}

async function loadUnit(device: Device, unit: CompiledUnit): Promise<LiveUnit> {
  const module = await loadModule(device, unit.methods as Record<MethodName, NonNullable<CompiledUnit['methods'][MethodName]>>);
  const methods = Object.keys(unit.methods) as MethodName[];
  const run = (m: MethodName) => (feeds: Feeds = {}) => {
    if (!unit.methods[m]) throw new Error(`${unit.name} has no ${m} (it has ${methods.join(', ')})`);
    return module.run(m, feeds);
  };
  return {
    name: unit.name,
    kind: unit.kind,
    module,
    compiled: unit,
    methods,
    tensors: module.sharedInfo,
    prefix: run('prefix'),
    forward: run('forward'),
    dropoutForward: run('dropoutForward'),
    drawsForward: run('drawsForward'),
    backward: run('backward'),
    collect: run('collect'),
    collectLinears: run('collectLinears'),
    sample: run('sample'),
    parameters: () => Object.fromEntries(module.sharedInfo.filter((t) => t.role === 'param').map((t) => [t.name, module.tensor(t.name)])),
    tensor: (name) => module.tensor(name),
    set: (name, data) => module.set(name, data),
    destroy: () => module.destroy(),
  };
}

// The experiment API: bring a config (model, weights, data), train, evaluate, predict.
export { type ExperimentOptions, type PredictOptions, type Prediction, type TrainOptions, evaluate, predict, train, trainAndEvaluate } from './experiment/api.ts';
export { type ExperimentConfig, readConfig } from './experiment/config.ts';
