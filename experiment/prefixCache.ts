/**
 * How the frozen prefix's per-example features are kept (`model.prefixCache`). A cached prefix
 * costs host memory in proportion to examples × tokens: USE-Lite's paper finetune caches about
 * 0.4 MB an example at 64 tokens, gigabytes at ten thousand examples. Within the budget the cache
 * is the fastest choice (the prefix runs once per example); past it f16 halves the bytes, and past
 * that the prefix is recomputed in every step, which costs time but no memory.
 */
import type { PrefixCacheMode } from './config.ts';

export type PrefixPlan = 'f32' | 'f16' | 'recompute';

/**
 * The plan for a cache of `bytesF32` bytes at f32: the mode itself unless `auto`, which takes the
 * first of f32, f16 and recompute whose host bytes fit in `budgetMb` megabytes.
 */
export function planPrefixCache(mode: PrefixCacheMode, bytesF32: number, budgetMb: number): PrefixPlan {
  if (mode !== 'auto') return mode;
  const budget = budgetMb * 1024 * 1024;
  if (bytesF32 <= budget) return 'f32';
  if (bytesF32 / 2 <= budget) return 'f16';
  return 'recompute';
}

/** "123.4 MB" */
export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
