/**
 * What the compiler and the runtime share, as plain data and pure functions; imports nothing:
 *
 *   program.ts  the Program format (buffers, slots, kernels, steps, outputs)
 *   kernel.ts   KernelSpec: one kernel's WGSL, bindings and entry point
 *   grid.ts     foldGrid / ceilDiv: workgroup grids within the device's per-dimension limit
 *   limits.ts   the device limits kernels are planned for, and WebGPU's defaults
 *   shape.ts    formatShape: how every error message writes a shape
 */
export * from './grid.ts';
export * from './kernel.ts';
export * from './limits.ts';
export * from './program.ts';
export * from './shape.ts';
