/** Kernel specs as plain data live in abi/kernel.ts, shared with the compiler. */
export { type BindingKind, type KernelSpec, kernelCacheKey } from '../abi/kernel.ts';
