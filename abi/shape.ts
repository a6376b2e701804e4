/** How every error message of the compiler, the kernels and the runtime writes a shape: `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
