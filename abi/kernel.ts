/** Kernels as plain data, shared by the compiler, the hand-written kernels and the runtime; imports nothing. */

/** How a kernel uses one binding of group 0, in @binding order. */
export type BindingKind = 'read' | 'read_write' | 'uniform';

/**
 * A compute kernel as plain data: what the kernel library and the compiler produce, and what
 * the runtime caches pipelines by. Sizes belong in the uniform so one pipeline serves many shapes.
 */
export interface KernelSpec {
  /** Names the kernel in every error and in Dawn's own messages. */
  label: string;
  wgsl: string;
  /** Binding kinds of `@group(0) @binding(i)`, i = 0.. in order. */
  bindings: readonly BindingKind[];
  entryPoint?: string;
  /** Pipeline-overridable constants (`override` declarations). */
  constants?: Readonly<Record<string, number>>;
}

export function kernelCacheKey(spec: KernelSpec): string {
  const constants = spec.constants
    ? Object.keys(spec.constants).sort().map((k) => `${k}=${spec.constants![k]}`).join(',')
    : '';
  return `${spec.entryPoint ?? 'main'}|${constants}|${spec.bindings.join(',')}|${spec.wgsl}`;
}
