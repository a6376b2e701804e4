import { ShapeError, formatShape } from './errors.ts';

export type DType = 'f32' | 'i32' | 'u32';

export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : D extends 'i32' ? Int32Array : Uint32Array;

/** The part of the device a tensor needs to hand its buffer back; keeps this file free of device.ts. */
export interface TensorOwner {
  recycle(buffer: GPUBuffer): void;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape ${formatShape(shape)}: dimensions must be non-negative integers`);
  }
}

/**
 * A dense, row-major tensor in a device buffer. The buffer may be larger than the tensor
 * (it comes from a size-bucketed pool); kernels get sizes from their uniforms, never from arrayLength.
 */
export class Tensor<D extends DType = DType, S extends readonly number[] = readonly number[]> {
  private released = false;

  /**
   * `S` carries the shape in the type where it is known when the code is written: generated
   * bindings type each output as, e.g., `Tensor<'f32', readonly [8, 6]>`.
   */
  constructor(
    private readonly owner: TensorOwner,
    readonly buffer: GPUBuffer,
    readonly shape: S,
    readonly dtype: D,
    /** True when this tensor owns its buffer (views made by `reshape` do not). */
    private readonly ownsBuffer = true,
  ) {}

  get size(): number {
    return sizeOf(this.shape);
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** A view of the same buffer with another shape of the same size. */
  reshape(shape: readonly number[]): Tensor<D> {
    checkShape(shape);
    if (sizeOf(shape) !== this.size) {
      throw new ShapeError(`cannot reshape ${formatShape(this.shape)} (${this.size} elements) to ${formatShape(shape)} (${sizeOf(shape)} elements)`);
    }
    return new Tensor(this.owner, this.buffer, [...shape], this.dtype, false);
  }

  /** Returns the buffer to the device's pool. Using the tensor afterwards is an error. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.ownsBuffer) this.owner.recycle(this.buffer);
  }

  toString(): string {
    return `Tensor<${this.dtype}>${formatShape(this.shape)}`;
  }
}
