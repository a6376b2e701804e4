export * from './safetensors.ts';
export * from './atomic.ts';
