/**
 * A finetune compiled for training and posterior-averaged prediction: the live unit of
 * `compile()` with the frozen prefix split off, plus what a training loop needs to know about it
 * (its per-example features, its parameters in theta order, its posterior's programs).
 *
 * The batch size `b` is static (compiled in); callers pad the last batch. Per-example features
 * are the `cache.<k>` tensors the prefix computes (or, when nothing frozen precedes the
 * adapters, the data inputs themselves), so training and every posterior sample read cached rows
 * and only the adapted suffix runs per step.
 */
import { existsSync, readFileSync } from 'node:fs';
import { compile, type LiveUnit, type MatmulAutotuneOptions, type WeightsOption } from '../swaglet.ts';
import { initializeNetwork } from '../compiler/lower/initializers.ts';
import type { ThetaLayout } from '../compiler/lower/theta.ts';
import { drawsInputName } from '../compiler/passes/batchDraws.ts';
import type { Device, Tensor } from '../runtime/index.ts';

/** A readFile for `.swag` imports (the checker asks for paths already resolved against the importing file). */
export function swagReader(): (path: string) => string | undefined {
  return (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
}

/** One per-example input of the suffix: a row of `rowSize` elements per example. */
export interface FeatureSpec {
  name: string;
  /** The whole batch's shape, as compiled: [b, ...] or [b·k, ...] (k rows per example, example-major). */
  shape: number[];
  /** One example's part: `rowSize` contiguous elements. */
  rowShape: number[];
  rowSize: number;
  dtype: 'f32' | 'i32';
}

export interface NetworkOptions {
  source: string;
  file: string;
  /** The finetune to compile. */
  entry: string;
  /** Sizes, including the batch size under `batchDim` (default 'b'). */
  dims: Record<string, number>;
  batchDim?: string;
  readFile?: (path: string) => string | undefined;
  /** Values of the frozen tensors (`load` initializers): the pretrained base (see swaglet.ts's `compile`). */
  weights?: WeightsOption;
  /**
   * Cut the graphs at the frozen prefix, whose per-example features the caller caches (default
   * true); false recomputes the prefix in every step (no cache, for data too large to cache).
   */
  splitFrozenPrefix?: boolean;
  /**
   * Posterior-averaged prediction in batched passes: compile a forward over this many parameter
   * draws at once (fewer when they would not fit the device; `drawsPerPass` says how many).
   */
  draws?: number;
  /** Examples per `collectLinears` call (KFAC's pass, train/laplace.ts): taps of that many examples stacked. */
  linearsExamples?: number;
  /** Tune the programs' matmul tile configs on the device first (see swaglet.ts's `compile`). */
  autotune?: boolean | MatmulAutotuneOptions;
}

export class Network {
  private constructor(
    readonly device: Device,
    readonly unit: LiveUnit,
    readonly batch: number,
    /** The data inputs the prefix reads (token ids, masks): one row per example. */
    readonly dataInputs: FeatureSpec[],
    /** What the suffix reads per example. */
    readonly features: FeatureSpec[],
    /** True when a compiled prefix computes `features` from `dataInputs`. */
    readonly hasPrefix: boolean,
    readonly theta: ThetaLayout,
    readonly classes: number,
    /** The loaded frozen values, kept on the host: a parameter's initializer may read them (DoRA's row_norm(W)). */
    private readonly frozen: ReadonlyMap<string, ArrayLike<number>>,
  ) {}

  static async compile(device: Device, options: NetworkOptions): Promise<Network> {
    const units = await compile(options.source, {
      device,
      file: options.file,
      entries: [options.entry],
      dims: options.dims,
      dropoutForward: true,
      splitFrozenPrefix: options.splitFrozenPrefix ?? true,
      seed: 0,
      ...(options.draws !== undefined && options.draws > 1 ? { draws: options.draws } : {}),
      ...(options.linearsExamples !== undefined && options.linearsExamples > 1 ? { linearsExamples: options.linearsExamples } : {}),
      ...(options.autotune ? { autotune: options.autotune } : {}),
      ...(options.weights !== undefined ? { weights: options.weights } : {}),
      ...(options.readFile ? { readFile: options.readFile } : {}),
    });
    const unit = units[0]!;
    try {
      const compiled = unit.compiled;
      const network = compiled.network;
      if (!network || !compiled.graphs.forward || !compiled.graphs.backward) throw new Error(`${options.entry} is not a trainable network (it has ${unit.methods.join(', ')})`);
      const batch = options.dims[options.batchDim ?? 'b'];
      if (batch === undefined) throw new Error(`dims has no batch size '${options.batchDim ?? 'b'}'`);
      // A batch-leading tensor, or one whose leading axis folds the batch with positions ([b·t, d]);
      // the check below makes sure each example's part is contiguous and its own.
      const rowsOf = (name: string, shape: readonly number[], dtype: 'f32' | 'i32'): FeatureSpec => {
        const lead = shape[0] ?? 0;
        if (lead === 0 || lead % batch !== 0) throw new Error(`${name} [${shape.join(', ')}] does not lead with the batch size ${batch}: it cannot be cached per example`);
        const rowShape = lead === batch ? shape.slice(1) : [lead / batch, ...shape.slice(1)];
        return { name, shape: [...shape], rowShape, rowSize: rowShape.reduce((p, d) => p * d, 1), dtype };
      };
      const forward = compiled.graphs.forward;
      const dataGraph = compiled.graphs.prefix ?? forward;
      const dataInputs = dataGraph.inputs
        .filter((i) => i.role === 'input' && i.name !== 'seed')
        .map((i) => rowsOf(i.name, dataGraph.nodes[i.node]!.shape, dataGraph.nodes[i.node]!.dtype));
      const features = compiled.cached ? compiled.cached.map((c) => rowsOf(c.name, c.shape, c.dtype)) : dataInputs;
      const y = forward.nodes[forward.outputs.find((o) => o.name === 'y')!.node]!;
      if (y.shape.length !== 2 || y.shape[0] !== batch) throw new Error(`${options.entry}'s output y is [${y.shape.join(', ')}]; a classifier returns logits [${batch}, classes]`);
      // compile() set the frozen base and the parameters; the loaded values stay on the host for re-initializing.
      const frozen = new Map<string, ArrayLike<number>>();
      for (const t of network.tensors) if (t.init.kind === 'load') frozen.set(t.path, await device.read(unit.tensor(t.path)));
      const net = new Network(device, unit, batch, dataInputs, features, compiled.cached !== undefined, network.theta, y.shape[1]!, frozen);
      if (net.hasPrefix) await net.checkPerExample();
      return net;
    } catch (e) {
      unit.destroy();
      throw e;
    }
  }

  /**
   * Caching per example is sound only if the prefix never mixes examples and keeps each one's
   * rows together. Checked on the device, not assumed: the first and last examples of a batch
   * swap places and every other example is replaced; their cached rows must not change.
   */
  async checkPerExample(): Promise<void> {
    const b = this.batch;
    if (b < 2) return;
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const fresh = (d: FeatureSpec, n: number) => (d.dtype === 'i32' ? Int32Array.from({ length: n }, () => Math.floor(next() * 2)) : Float32Array.from({ length: n }, () => 0.5 + next() / 2));
    const first: Record<string, Float32Array | Int32Array> = {};
    const second: Record<string, Float32Array | Int32Array> = {};
    for (const d of this.dataInputs) {
      const a = fresh(d, b * d.rowSize);
      const c = fresh(d, b * d.rowSize);
      c.set(a.subarray(0, d.rowSize), (b - 1) * d.rowSize);
      c.set(a.subarray((b - 1) * d.rowSize), 0);
      first[d.name] = a;
      second[d.name] = c;
    }
    const read = async (feeds: Record<string, Float32Array | Int32Array>) => {
      const out = this.unit.prefix(feeds);
      const values: Record<string, Float32Array | Int32Array> = {};
      for (const f of this.features) values[f.name] = (await this.device.read(out[f.name]!)) as Float32Array | Int32Array;
      return values;
    };
    const a = await read(first);
    const c = await read(second);
    for (const f of this.features) {
      let scale = 1e-30;
      for (const v of a[f.name]!) scale = Math.max(scale, Math.abs(v));
      for (const [from, to] of [[0, b - 1], [b - 1, 0]] as const) {
        for (let k = 0; k < f.rowSize; k++) {
          const x = a[f.name]![from * f.rowSize + k]!;
          const y = c[f.name]![to * f.rowSize + k]!;
          if (!(Math.abs(x - y) <= 1e-4 * scale)) {
            throw new Error(`the frozen prefix mixes examples: ${f.name} [${f.shape.join(', ')}] of an example changes with the other examples of its batch (${x} vs ${y}); it cannot be cached per example`);
          }
        }
      }
    }
  }

  /** Number of trainable parameters (p). */
  get size(): number {
    return this.theta.size;
  }

  /** The posterior as the finetune declares it: its name, sizes (SWAG's K) and scalars (its sample scale). */
  get posterior(): { name: string; dims: Record<string, number>; scalars: Record<string, number> } | undefined {
    const p = this.unit.compiled.posterior;
    if (!p) return undefined;
    return { name: p.name, dims: Object.fromEntries(Object.entries(p.dims).map(([k, d]) => [k, d.value])), scalars: { ...p.scalars } };
  }

  get hasPosterior(): boolean {
    return this.unit.methods.includes('collect') && this.unit.methods.includes('sample');
  }

  /**
   * Re-initializes the trainable parameters only (a new run, seeded); the frozen base, set once
   * when the network was built, stays on the device untouched.
   */
  initializeParameters(seed: number): void {
    this.writeInitial(seed, (role) => role === 'param');
  }

  private writeInitial(seed: number, wanted: (role: string) => boolean): void {
    // Frozen values go in even when only parameters are written: an initializer may read them (DoRA's row_norm(W)).
    const values = initializeNetwork(this.unit.compiled.network!, { seed, loaded: this.frozen });
    for (const t of this.unit.tensors) {
      const v = values.get(t.name);
      if (v && wanted(t.role)) this.unit.set(t.name, v);
    }
  }

  /** The trainable tensors, by name, in theta order. */
  parameters(): [string, Tensor][] {
    return this.theta.entries.map((e) => [e.path, this.unit.tensor(e.path)]);
  }

  /** Copies every parameter into `theta` [p] on the device. */
  packTheta(theta: Tensor): void {
    for (const e of this.theta.entries) this.device.copyRange(this.unit.tensor(e.path), 0, theta, e.offset, e.size);
  }

  /** Copies `theta` [p] into the parameters on the device. */
  unpackTheta(theta: Tensor): void {
    for (const e of this.theta.entries) this.device.copyRange(theta, e.offset, this.unit.tensor(e.path), 0, e.size);
  }

  /** Parameters to the host, by name. */
  async readParameters(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, t] of this.parameters()) out.set(name, (await this.device.read(t)) as Float32Array);
    return out;
  }

  /** Overwrites the parameters from host values (all of them). */
  writeParameters(values: ReadonlyMap<string, ArrayLike<number>>): void {
    for (const e of this.theta.entries) {
      const v = values.get(e.path);
      if (!v) throw new Error(`no value for parameter ${e.path}`);
      this.unit.set(e.path, v);
    }
  }

  /** The prefix on one batch of data inputs: the per-example features, on the device. */
  prefix(data: Readonly<Record<string, ArrayLike<number> | Tensor>>): Record<string, Tensor> {
    if (!this.hasPrefix) throw new Error('this network has no frozen prefix: its features are its data inputs');
    return this.unit.prefix(data);
  }

  /** Draws one `forwardDraws` pass serves; undefined when the network was compiled without `draws`. */
  get drawsPerPass(): number | undefined {
    return this.unit.compiled.draws;
  }

  /** The draws forward's parameter inputs, `draws.<path>` [D, ...], made on first use. */
  private drawSlots?: Map<string, Tensor>;

  private drawInputs(): Map<string, Tensor> {
    const D = this.drawsPerPass;
    if (D === undefined) throw new Error('this network was compiled without `draws`: it has no batched posterior forward');
    if (!this.drawSlots) {
      const g = this.unit.compiled.graphs.drawsForward!;
      this.drawSlots = new Map(this.theta.entries.map((e) => {
        const input = g.inputs.find((i) => i.name === drawsInputName(e.path));
        if (!input) throw new Error(`the draws forward has no input for parameter ${e.path}`);
        return [input.name, this.device.zeros(g.nodes[input.node]!.shape)];
      }));
    }
    return this.drawSlots;
  }

  /** Puts `theta` [p] (one draw, packed) into slot `d` of the draws forward, on the device. */
  setDraw(d: number, theta: Tensor): void {
    const D = this.drawsPerPass ?? 0;
    if (!(Number.isInteger(d) && d >= 0 && d < D)) throw new Error(`draw slot ${d} outside [0, ${D})`);
    const slots = this.drawInputs();
    for (const e of this.theta.entries) this.device.copyRange(theta, e.offset, slots.get(drawsInputName(e.path))!, d * e.size, e.size);
  }

  /** The forward over every draw slot at once on one batch of features: logits [D, b, classes]. */
  forwardDraws(features: Readonly<Record<string, ArrayLike<number> | Tensor>>): Tensor {
    return this.unit.drawsForward({ ...features, ...Object.fromEntries(this.drawInputs()) }).y!;
  }

  /** Other finetunes of the same source compiled on the same device (Laplace's batch-1 network, BLoB's), destroyed with this one. */
  readonly companions = new Map<string, Network>();

  destroy(): void {
    for (const c of this.companions.values()) c.destroy();
    this.companions.clear();
    for (const t of this.drawSlots?.values() ?? []) t.release();
    this.drawSlots = undefined;
    this.unit.destroy();
  }
}
