import type { BindingKind } from '../../runtime/kernel.ts';

/**
 * What one matmul kernel computes, fixed at compile time. Sizes, strides and the scalars
 * α, β, s and scale are not here: they go in the uniform, so one pipeline serves every shape
 * with the same variant.
 *
 *   C = epilogue(scale · (α·(op(A)·op(B) + s·A2·B2ᵀ) + β·C + biasN[n] + biasM[m]))
 */
export interface MatmulVariant {
  /** A is stored [K, M] (op(A) = Aᵀ) instead of [M, K]. */
  transA: boolean;
  /** B is stored [N, K] (op(B) = Bᵀ) instead of [K, N]. */
  transB: boolean;
  /**
   * vec4 loads of A / B along their contiguous dimension, and vec4 stores of C. Only valid when
   * that dimension and the batch stride are multiples of 4 (the launcher decides).
   */
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
  /** Reads C before writing it: adds β·C. */
  beta: boolean;
  /** Adds a bias vector along N (one value per column) / along M (one per row). */
  biasN: boolean;
  biasM: boolean;
  /** Multiplies by the uniform `scale` after the bias. */
  scale: boolean;
  /** A WGSL expression of `v: f32` applied last, e.g. `max(v, 0.0)`; empty for none. */
  activation: string;
  /** The concatenated inner dimension: A2 [M, K2] and B2 [N, K2], both read along K2. */
  concat: boolean;
  /** vec4 loads of A2 and B2 (K2 a multiple of 4). */
  vecConcat: boolean;
}

export const PLAIN_VARIANT: MatmulVariant = {
  transA: false,
  transB: false,
  vecA: false,
  vecB: false,
  vecC: false,
  beta: false,
  biasN: false,
  biasM: false,
  scale: false,
  activation: '',
  concat: false,
  vecConcat: false,
};

/** A short, stable name for the variant, used in kernel labels. */
export function variantKey(v: MatmulVariant): string {
  const flags = [
    v.transA ? 'tA' : 'nA',
    v.transB ? 'tB' : 'nB',
    `v${+v.vecA}${+v.vecB}${+v.vecC}`,
    v.beta ? 'beta' : '',
    v.biasN ? 'biasN' : '',
    v.biasM ? 'biasM' : '',
    v.scale ? 'scale' : '',
    v.concat ? `concat${v.vecConcat ? 'v' : ''}` : '',
    v.activation ? `act(${v.activation})` : '',
  ];
  return flags.filter(Boolean).join('.');
}

/** The storage tensors a variant binds, in binding order (the uniform comes last). */
export function bindingNames(v: MatmulVariant): string[] {
  return ['a', 'b', ...(v.concat ? ['a2', 'b2'] : []), ...(v.biasN ? ['bias_n'] : []), ...(v.biasM ? ['bias_m'] : []), 'c'];
}

export function bindingKinds(v: MatmulVariant): BindingKind[] {
  return [...bindingNames(v).map((name): BindingKind => (name === 'c' ? 'read_write' : 'read')), 'uniform'];
}
