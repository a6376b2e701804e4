/**
 * Workgroup grids, shared by the compiler (which folds grids ahead of time) and the runtime.
 * Dependency-free: a grid too big for the device is a `GridLimitError`, which the runtime's
 * `foldGrid` re-throws as its own `LimitError`.
 */

/** A workgroup count no grid of the device can hold. */
export class GridLimitError extends Error {
  override name = 'GridLimitError';
}

/**
 * Lays `groups` workgroups of a 1-D problem onto a grid no side of which exceeds `maxPerDim`
 * (65,535 by default), folding the excess into y and z. A kernel recovers its flat workgroup
 * index as `wid.x + wid.y * nx + wid.z * nx * ny` and must bound-check it.
 */
export function foldGrid(groups: number, maxPerDim = 65535): [number, number, number] {
  if (!Number.isInteger(groups) || groups < 0) throw new GridLimitError(`workgroup count must be a non-negative integer, got ${groups}`);
  if (groups <= maxPerDim) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / maxPerDim);
  if (y <= maxPerDim) return [Math.ceil(groups / y), y, 1];
  const z = Math.ceil(y / maxPerDim);
  if (z > maxPerDim) throw new GridLimitError(`${groups} workgroups exceed the grid (${maxPerDim}^3)`);
  return [maxPerDim, Math.ceil(y / z), z];
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
