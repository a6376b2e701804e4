/**
 * Running a compiled Program on a Device. A Program is plain data — buffers, kernels, steps —
 * and this is all the runtime knows of it: no ops, no graphs, no adapters.
 *
 *   const p = await loadProgram(device, program);   // compiles every kernel, allocates memory
 *   p.bind('A', paramsOnGpu);                        // keep a tensor across calls (params, state)
 *   const out = p.run({ x: xData });                 // uploads, records every step (submitted at the next read or sync)
 *   const loss = await device.read(out.loss);        // readback only when asked
 *
 * Memory: one allocation per slot of the program; buffers sharing a slot are views of it. Output
 * tensors are views too: valid until the next `run` overwrites them (copy one to keep it).
 */
import type { CompiledKernel, Device, KernelArg } from './device.ts';
import { ShapeError, SwagletRuntimeError, formatShape } from './errors.ts';
import type { KernelSpec } from '../abi/kernel.ts';
import { Tensor, sizeOf } from './tensor.ts';

export { PROGRAM_FORMAT, type BufferRole, type Program, type ProgramArg, type ProgramBuffer, type ProgramOutput, type ProgramStep } from '../abi/program.ts';
import { PROGRAM_FORMAT, type BufferRole, type Program } from '../abi/program.ts';

/** Data for one named buffer: host numbers (uploaded) or a device tensor (bound). */
export type ProgramFeed = ArrayLike<number> | Tensor;

export class ProgramError extends SwagletRuntimeError {
  override name = 'ProgramError';
}

/** Roles whose buffers the caller provides: by a feed, `write` or `bind`. */
const PROVIDED: readonly BufferRole[] = ['input', 'param', 'frozen', 'state'];

/** A Program loaded on a device: kernels compiled, memory allocated, ready to `run`. */
export class LoadedProgram {
  private readonly views: Tensor[];
  private readonly ready = new Set<number>();
  private readonly byName = new Map<string, number>();
  private readonly uniforms: Uint8Array[][];
  private destroyed = false;

  constructor(
    readonly device: Device,
    readonly program: Program,
    private readonly kernels: readonly CompiledKernel[],
    private readonly slots: readonly Tensor[],
  ) {
    this.views = program.buffers.map((b) => this.view(slots[b.slot]!, b.shape, b.dtype));
    for (const b of program.buffers) if (!this.byName.has(b.name)) this.byName.set(b.name, b.id);
    this.uniforms = program.steps.map((s) => s.args.filter((a): a is { uniform: string } => typeof a !== 'number').map((a) => new Uint8Array(Buffer.from(a.uniform, 'base64'))));
    for (const b of program.buffers) {
      if (b.init) {
        device.write(this.views[b.id]!, b.init);
        this.ready.add(b.id);
      }
    }
  }

  private view(base: Tensor, shape: readonly number[], dtype: 'f32' | 'i32'): Tensor {
    return new Tensor(this.device, base.buffer, [...shape], dtype, false);
  }

  private id(name: string): number {
    const id = this.byName.get(name);
    if (id === undefined) throw new ProgramError(`the program has no buffer named '${name}' (inputs: ${this.inputNames().join(', ')})`);
    return id;
  }

  /** Names of the buffers the caller provides (inputs, params, frozen weights, state). */
  inputNames(): string[] {
    return this.program.buffers.filter((b) => PROVIDED.includes(b.role)).map((b) => b.name);
  }

  /** The tensor currently holding a named buffer (its own memory, or a bound tensor). */
  tensor(name: string): Tensor {
    return this.views[this.id(name)]!;
  }

  /**
   * Uses `tensor` as the named buffer from now on (params or state kept on the device across
   * calls; an output written straight into a tensor the caller owns). Shape and dtype must match.
   */
  bind(name: string, tensor: Tensor): void {
    const id = this.id(name);
    const b = this.program.buffers[id]!;
    if (b.role === 'temp' || b.role === 'constant') throw new ProgramError(`'${name}' is a ${b.role} buffer; only inputs, params, frozen weights, state and outputs can be bound`);
    if (tensor.dtype !== b.dtype || sizeOf(tensor.shape) !== sizeOf(b.shape)) {
      throw new ShapeError(`cannot bind ${tensor} as '${name}', which is ${b.dtype}${formatShape(b.shape)}`);
    }
    if (tensor.isReleased) throw new ProgramError(`cannot bind '${name}': ${tensor} was released`);
    this.views[id] = tensor.shape.length === b.shape.length && tensor.shape.every((d, i) => d === b.shape[i]) ? tensor : this.view(tensor, b.shape, b.dtype);
    this.ready.add(id);
  }

  /** Uploads host data into a named buffer (in order with recorded work). */
  write(name: string, data: ArrayLike<number>): void {
    const id = this.id(name);
    this.device.write(this.views[id]!, data);
    this.ready.add(id);
  }

  /**
   * Feeds the named buffers (host data is uploaded, tensors are bound) and records every step in
   * order into the device's open batch, which the next read, sync or flush submits — so a run,
   * the optimizer after it and the readback of its loss are one submit. Returns the output
   * tensors; nothing is read back.
   */
  run(feeds: Readonly<Record<string, ProgramFeed>> = {}): Record<string, Tensor> {
    if (this.destroyed) throw new ProgramError('the program was destroyed');
    for (const [name, feed] of Object.entries(feeds)) {
      if (feed instanceof Tensor) this.bind(name, feed);
      else this.write(name, feed);
    }
    const missing = this.program.buffers.filter((b) => PROVIDED.includes(b.role) && !this.ready.has(b.id));
    if (missing.length) throw new ProgramError(`no data for ${missing.map((b) => `'${b.name}' (${b.role} ${b.dtype}${formatShape(b.shape)})`).join(', ')}`);
    this.program.steps.forEach((step, s) => {
      let u = 0;
      const args: KernelArg[] = step.args.map((a) => (typeof a === 'number' ? this.views[a]! : this.uniforms[s]![u++]!));
      this.device.dispatch(this.kernels[step.kernel]!, args, step.workgroups);
    });
    const out: Record<string, Tensor> = {};
    for (const o of this.program.outputs) {
      const t = this.views[o.buffer]!;
      out[o.name] = t.shape.length === o.shape.length && t.shape.every((d, i) => d === o.shape[i]) ? t : this.view(t, o.shape, o.dtype);
    }
    return out;
  }

  /** Returns the program's memory to the device's pool. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const t of this.slots) t.release();
  }
}

/** Compiles every kernel (so later dispatches are synchronous) and allocates the program's memory. */
export async function loadProgram(device: Device, program: Program): Promise<LoadedProgram> {
  if (program.format !== PROGRAM_FORMAT) throw new ProgramError(`not a ${PROGRAM_FORMAT} program (format '${String(program.format)}')`);
  const kernels = await Promise.all(program.kernels.map((spec) => device.kernel(spec)));
  const slots = program.slots.map((bytes) => device.empty([Math.max(1, Math.ceil(bytes / 4))], 'f32'));
  return new LoadedProgram(device, program, kernels, slots);
}
