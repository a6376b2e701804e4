/** A host tensor, as the CPU references take it: row-major data with its shape. */
export interface HostTensor {
  data: ArrayLike<number>;
  shape: readonly number[];
}
