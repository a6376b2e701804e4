export * from './adapters.ts';
export * from './device.ts';
export * from './errors.ts';
export * from './grid.ts';
export * from './kernel.ts';
export * from './tensor.ts';
export * from './timing.ts';
export * from './program.ts';
