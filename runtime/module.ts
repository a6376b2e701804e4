/**
 * Several Programs that share named tensors: a compiled adapter's `forward`, `backward`,
 * `collect` and `sample` all read the same parameters and state. Each shared name (a buffer of
 * role param, frozen or state) gets one tensor on the device, bound into every program that
 * uses it, so an update made by one program is seen by the next without a copy.
 * Still plain data to the runtime: programs, buffers, names.
 */
import type { Device } from './device.ts';
import { ShapeError, formatShape } from './errors.ts';
import { type LoadedProgram, type Program, type ProgramFeed, ProgramError, loadProgram } from './program.ts';
import type { Tensor } from './tensor.ts';

const SHARED_ROLES = ['param', 'frozen', 'state'] as const;

export interface SharedTensorInfo {
  name: string;
  role: (typeof SHARED_ROLES)[number];
  shape: number[];
  dtype: 'f32' | 'i32';
}

export class LoadedModule<P extends string = string> {
  private destroyed = false;

  constructor(
    readonly device: Device,
    private readonly programs: Readonly<Record<P, LoadedProgram>>,
    private readonly shared: ReadonlyMap<string, Tensor>,
    /** Every shared tensor, in first-seen order: params, frozen weights, state. */
    readonly sharedInfo: readonly SharedTensorInfo[],
  ) {}

  /** The device tensor behind a shared name (a parameter, frozen weight or state tensor). */
  tensor(name: string): Tensor {
    const t = this.shared.get(name);
    if (!t) throw new ProgramError(`no shared tensor named '${name}' (known: ${[...this.shared.keys()].join(', ')})`);
    return t;
  }

  /** Overwrites a shared tensor from host data. */
  set(name: string, data: ArrayLike<number>): void {
    this.device.write(this.tensor(name), data);
  }

  /** Copies `source` (same size) into a shared tensor, on the device. */
  assign(name: string, source: Tensor): void {
    const target = this.tensor(name);
    if (source.size !== target.size) throw new ShapeError(`cannot assign ${formatShape(source.shape)} to '${name}' ${formatShape(target.shape)}`);
    this.device.copy(source, target);
  }

  /** Runs one of the programs; returns its outputs (views, valid until that program runs again). */
  run(program: P, feeds: Readonly<Record<string, ProgramFeed>> = {}): Record<string, Tensor> {
    if (this.destroyed) throw new ProgramError('the module was destroyed');
    const loaded = this.programs[program];
    if (!loaded) throw new ProgramError(`no program named '${program}' (known: ${Object.keys(this.programs).join(', ')})`);
    return loaded.run(feeds);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of Object.values<LoadedProgram>(this.programs)) p.destroy();
    for (const t of this.shared.values()) t.release();
  }
}

/**
 * Loads every program and gives each shared name one tensor (zeros until set). Two programs
 * that disagree on a shared name's shape or dtype are an error naming both.
 */
export async function loadModule<P extends string>(device: Device, programs: Readonly<Record<P, Program>>): Promise<LoadedModule<P>> {
  const info = new Map<string, SharedTensorInfo & { program: string }>();
  for (const [programName, program] of Object.entries<Program>(programs)) {
    for (const b of program.buffers) {
      if (!(SHARED_ROLES as readonly string[]).includes(b.role)) continue;
      const seen = info.get(b.name);
      if (seen && (seen.dtype !== b.dtype || formatShape(seen.shape) !== formatShape(b.shape))) {
        throw new ShapeError(`'${b.name}' is ${seen.dtype}${formatShape(seen.shape)} in ${seen.program} but ${b.dtype}${formatShape(b.shape)} in ${programName}`);
      }
      if (!seen) info.set(b.name, { name: b.name, role: b.role as SharedTensorInfo['role'], shape: b.shape, dtype: b.dtype, program: programName });
    }
  }
  const shared = new Map<string, Tensor>();
  for (const i of info.values()) shared.set(i.name, device.zeros(i.shape, i.dtype));
  const loaded = {} as Record<P, LoadedProgram>;
  for (const [name, program] of Object.entries<Program>(programs)) {
    const p = await loadProgram(device, program);
    for (const inputName of p.inputNames()) {
      const t = shared.get(inputName);
      if (t) p.bind(inputName, t);
    }
    loaded[name as P] = p;
  }
  return new LoadedModule(device, loaded, shared, [...info.values()].map(({ program: _p, ...rest }) => rest));
}
