/**
 * AdamW over a set of named parameter tensors on the device. It owns the moments m, v of every
 * parameter; a step clips the gradients by their global norm and updates every parameter in
 * place, all recorded as dispatches with no readback (kernels/adamw.ts). The norm of the last
 * step stays on the device (`clipState`), read on request. The state — moments and step count —
 * exports to host arrays and loads back bit-exactly, so a resumed run continues with the very
 * numbers of an uninterrupted one.
 *
 * A step whose gradient norm is not finite changes nothing (the kernels skip it); the trainer
 * sees the norm through `gradNorm()` and decides what to do.
 */
import {
  type AdamWKernels,
  CLIP_NORM_INDEX,
  SumOfSquaresPlan,
  adamwKernels,
  packHyper,
  recordAdamWUpdate,
  recordClipScale,
} from '../kernels/adamw.ts';
import type { Device, Tensor } from '../runtime/index.ts';

export interface AdamWOptions {
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay (default 0.01, torch's). */
  weightDecay?: number;
  /** Global gradient-norm clip; 0, Infinity or undefined turns clipping off. */
  maxGradNorm?: number;
}

/** A state that does not fit this optimizer, or a call out of order. */
export class OptimizerStateError extends Error {
  override name = 'OptimizerStateError';
}

/** f32 counts integers exactly up to here: the step count is saved as one f32. */
const MAX_EXACT_STEP = 2 ** 24;

export class AdamW {
  /** Parameter names in the fixed order of every reduction and update. */
  readonly names: readonly string[];
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private readonly sumSq: Tensor;
  /** [scale, norm] of the last step. */
  private readonly clip: Tensor;
  private readonly plan: SumOfSquaresPlan;
  private readonly hyper: Required<AdamWOptions>;
  private t = 0;
  private destroyed = false;

  private constructor(
    readonly device: Device,
    private readonly params: Readonly<Record<string, Tensor>>,
    private readonly kernels: AdamWKernels,
    options: AdamWOptions,
  ) {
    this.hyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 0, ...options };
    const { beta1, beta2, eps, weightDecay } = this.hyper;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new RangeError(`AdamW: β₁ and β₂ must be in [0, 1), got ${beta1} and ${beta2}`);
    if (!(eps >= 0) || !(weightDecay >= 0)) throw new RangeError(`AdamW: eps and weightDecay must be ≥ 0, got ${eps} and ${weightDecay}`);
    this.names = Object.keys(params).sort();
    for (const name of this.names) {
      if (params[name]!.dtype !== 'f32') throw new OptimizerStateError(`AdamW: parameter '${name}' is ${params[name]}, not f32`);
    }
    this.m = this.names.map((name) => device.zeros([params[name]!.size]));
    this.v = this.names.map((name) => device.zeros([params[name]!.size]));
    this.sumSq = device.zeros([1]);
    this.clip = device.zeros([2]);
    this.plan = new SumOfSquaresPlan(device, this.names.map((name) => params[name]!.size));
  }

  /** Compiles the kernels (once per device), then zeroes the moments: steps record synchronously. */
  static async create(device: Device, params: Readonly<Record<string, Tensor>>, options: AdamWOptions = {}): Promise<AdamW> {
    return new AdamW(device, params, await adamwKernels(device), options);
  }

  /** Steps taken (the t of the bias corrections of the last step). */
  get steps(): number {
    return this.t;
  }

  /**
   * [clip scale, gradient norm] of the last step, on the device: a trainer may copy it next to
   * its loss and read both in one readback. The scale is NaN when the norm was not finite.
   */
  get clipState(): Tensor {
    return this.clip;
  }

  private assertLive(): void {
    if (this.destroyed) throw new OptimizerStateError('AdamW: used after destroy()');
  }

  /**
   * Records one step: Σg² over all gradients, the clip scale, and every parameter's update, at
   * learning rate `lr`. Nothing is read back. `grads` has one f32 tensor per parameter, same size.
   */
  step(grads: Readonly<Record<string, Tensor>>, lr: number): void {
    this.assertLive();
    if (!(Number.isFinite(lr) && lr >= 0)) throw new RangeError(`AdamW: the learning rate must be a finite number ≥ 0, got ${lr}`);
    const extra = Object.keys(grads).filter((name) => !(name in this.params));
    if (extra.length) throw new OptimizerStateError(`AdamW: gradients for unknown parameters: ${extra.join(', ')}`);
    const g = this.names.map((name) => {
      const grad = grads[name];
      if (!grad) throw new OptimizerStateError(`AdamW: no gradient for parameter '${name}'`);
      if (grad.size !== this.params[name]!.size) throw new OptimizerStateError(`AdamW: gradient ${grad} of '${name}' does not match the parameter ${this.params[name]}`);
      return grad;
    });
    if (this.t + 1 >= MAX_EXACT_STEP) throw new OptimizerStateError(`AdamW: more than ${MAX_EXACT_STEP} steps cannot be saved exactly`);
    this.plan.record(this.kernels, g, this.sumSq);
    recordClipScale(this.device, this.kernels, this.sumSq, this.hyper.maxGradNorm, this.clip);
    this.t++;
    const hyper = packHyper({ ...this.hyper, lr, step: this.t });
    this.names.forEach((name, i) => {
      recordAdamWUpdate(this.device, this.kernels, { param: this.params[name]!, grad: g[i]!, m: this.m[i]!, v: this.v[i]! }, this.clip, hyper);
    });
  }

  /** The global gradient norm of the last step, before clipping (one readback); NaN or ∞ if it was not finite. */
  async gradNorm(): Promise<number> {
    this.assertLive();
    if (this.t === 0) throw new OptimizerStateError('AdamW: no step has been taken, so there is no gradient norm');
    return (await this.device.read(this.clip))[CLIP_NORM_INDEX]!;
  }

  /** The moments and step count as host arrays: `m.<name>`, `v.<name>` and `step` (one element). */
  async state(): Promise<Record<string, Float32Array>> {
    this.assertLive();
    const out: Record<string, Float32Array> = { step: Float32Array.of(this.t) };
    for (const [i, name] of this.names.entries()) {
      out[`m.${name}`] = (await this.device.read(this.m[i]!)) as Float32Array;
      out[`v.${name}`] = (await this.device.read(this.v[i]!)) as Float32Array;
    }
    return out;
  }

  /** Loads what `state()` exported (exactly those keys and sizes), in order with recorded work. */
  loadState(state: Readonly<Record<string, ArrayLike<number>>>): void {
    this.assertLive();
    const expected = new Set(['step', ...this.names.flatMap((name) => [`m.${name}`, `v.${name}`])]);
    const unknown = Object.keys(state).filter((k) => !expected.has(k));
    if (unknown.length) throw new OptimizerStateError(`AdamW state has entries for no parameter of this optimizer: ${unknown.join(', ')}`);
    const step = state.step;
    if (!step || step.length !== 1 || !Number.isInteger(step[0]) || step[0]! < 0 || step[0]! >= MAX_EXACT_STEP) {
      throw new OptimizerStateError(`AdamW state needs 'step' as one integer in [0, ${MAX_EXACT_STEP}), got ${step ? `[${Array.from(step).join(', ')}]` : 'nothing'}`);
    }
    // Check everything before writing anything, so a bad state leaves the optimizer as it was.
    const moments = this.names.map((name, i) => {
      const m = state[`m.${name}`];
      const v = state[`v.${name}`];
      if (!m || !v) throw new OptimizerStateError(`AdamW state has no moments for parameter '${name}'`);
      const size = this.m[i]!.size;
      if (m.length !== size || v.length !== size) throw new OptimizerStateError(`AdamW state: moments of '${name}' have ${m.length} and ${v.length} elements, the parameter ${size}`);
      return [m, v] as const;
    });
    moments.forEach(([m, v], i) => {
      this.device.write(this.m[i]!, m);
      this.device.write(this.v[i]!, v);
    });
    this.t = step[0]!;
  }

  /** Releases the moments and scratch; the parameters stay the caller's. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const t of [...this.m, ...this.v, this.sumSq, this.clip]) t.release();
    this.plan.destroy();
  }
}
