/**
 * Runtime errors. Each carries a message a user can act on; the CLI prints the message only.
 */
export class SwagletRuntimeError extends Error {
  override name = 'SwagletRuntimeError';
}

/** No WebGPU adapter could be opened; the message says what to install. */
export class NoAdapterError extends SwagletRuntimeError {
  override name = 'NoAdapterError';
}

/** Two shapes (or a shape and a data length) that should agree do not. */
export class ShapeError extends SwagletRuntimeError {
  override name = 'ShapeError';
}

/** A size beyond what the device allows (binding size, workgroup count, ...). */
export class LimitError extends SwagletRuntimeError {
  override name = 'LimitError';
}

/** WGSL that failed to compile, or a dispatch that failed validation; names the kernel. */
export class KernelError extends SwagletRuntimeError {
  override name = 'KernelError';
}

/** The device was lost (driver reset, out of memory, destroyed); nothing more can run on it. */
export class DeviceLostError extends SwagletRuntimeError {
  override name = 'DeviceLostError';
}

export { formatShape } from '../abi/shape.ts';

export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}
