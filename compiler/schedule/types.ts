/**
 * A Schedule: the fused graph as an ordered list of kernel launches over logical buffers.
 * Everything is resolved: kernel text, binding order, uniform bytes, workgroup counts. What is
 * left for later is only where buffers live (planMemory) and the plain-data form (Program).
 */
import { DEFAULT_LIMITS, type DeviceLimits } from '../../abi/limits.ts';
import type { MatmulConfig, MatmulShape } from '../../kernels/matmul/config.ts';
import type { KernelSpec } from '../../abi/kernel.ts';

/** What the kernels are chosen for: llvmpipe on the CPU, or a real GPU. */
export type Target = 'cpu' | 'gpu';

/** The device limits scheduling depends on (abi/limits.ts). */
export type ScheduleLimits = DeviceLimits;
export { DEFAULT_LIMITS };

export interface ScheduleOptions {
  /** Default 'cpu'. */
  readonly target?: Target;
  /** Default DEFAULT_LIMITS. */
  readonly limits?: ScheduleLimits;
  /**
   * Matmul configs by shape class (`shapeClassKey` of kernels/matmul/autotune.ts): the
   * autotuner's winners. Shapes not listed get `defaultConfig`.
   */
  readonly matmulConfigs?: Readonly<Record<string, MatmulConfig>>;
  /**
   * Told of every tiled matmul launch the schedule makes, with the shape class it looked up: how
   * a caller learns which classes a program uses, to tune them and compile again.
   */
  readonly onMatmulClass?: (use: MatmulClassUse) => void;
}

/** One tiled matmul launch's shape class, as `onMatmulClass` reports it. */
export interface MatmulClassUse {
  /** `shapeClassKey` of the shape and transposes: the key `matmulConfigs` is read by. */
  readonly key: string;
  /** Sizes after batch handling (op(A) is M×K, op(B) K×N; K2 the concatenated pair's inner size). */
  readonly shape: Required<MatmulShape>;
  readonly transA: boolean;
  readonly transB: boolean;
  /** The config the launch was given. */
  readonly config: MatmulConfig;
}

/**
 * What a buffer is for. Inputs, params, frozen weights and state come from the graph's
 * interface; outputs hold graph outputs; constants are written once at load; temps hold
 * intermediate values and may share memory.
 */
export type BufferRole = 'input' | 'param' | 'frozen' | 'state' | 'output' | 'constant' | 'temp';

export interface ScheduledBuffer {
  readonly id: number;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'f32' | 'i32';
  role: BufferRole;
  /** Contents of a `constant` buffer. */
  readonly init?: readonly number[];
}

export type LaunchArg = { readonly buffer: number } | { readonly uniform: Uint8Array };

/** One dispatch: a kernel, its bindings in order, and its grid (already folded). */
export interface Launch {
  readonly spec: KernelSpec;
  readonly args: readonly LaunchArg[];
  readonly workgroups: readonly [number, number, number];
  /** The IR node and source span it computes, e.g. `matmul %7 @ lora.swag:6:12`. */
  readonly label: string;
}

export interface ScheduledOutput {
  readonly name: string;
  readonly buffer: number;
  /** The output's own shape (a reshape of its buffer's, when it is an alias). */
  readonly shape: readonly number[];
  readonly dtype: 'f32' | 'i32';
}

export interface Schedule {
  readonly buffers: readonly ScheduledBuffer[];
  readonly launches: readonly Launch[];
  readonly outputs: readonly ScheduledOutput[];
}

/** Buffers each launch reads and writes, from the binding kinds of its spec. */
export function launchAccess(launch: Launch): { reads: number[]; writes: number[] } {
  const reads: number[] = [];
  const writes: number[] = [];
  let b = 0;
  for (const arg of launch.args) {
    const kind = launch.spec.bindings[b++];
    if (!('buffer' in arg)) continue;
    (kind === 'read_write' ? writes : reads).push(arg.buffer);
  }
  return { reads, writes };
}
