export * from './autotune.ts';
export * from './config.ts';
export * from './launch.ts';
export * from './naive.ts';
export * from './params.ts';
export * from './shapes.ts';
export * from './variant.ts';
export * from './wgsl.ts';
