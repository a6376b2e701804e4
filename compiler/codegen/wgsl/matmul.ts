/**
 * The matmul kernels come from the library (kernels/matmul): this file only turns resolved sizes,
 * the fused epilogue and a tile config into the library's spec and uniform, and writes each
 * activation as the single WGSL expression of `v` the library's epilogue hook takes.
 */
import { type MatmulConfig, configName } from '../../../kernels/matmul/config.ts';
import { chooseVariant } from '../../../kernels/matmul/launch.ts';
import { matmulLaunch, packMatmulParams } from '../../../kernels/matmul/params.ts';
import type { ResolvedMatmul } from '../../../kernels/matmul/shapes.ts';
import { variantKey } from '../../../kernels/matmul/variant.ts';
import { matmulKernelSpec } from '../../../kernels/matmul/wgsl.ts';
import { foldGrid } from '../../../abi/grid.ts';
import type { EmittedKernel } from './elementwise.ts';

// Taylor series of tanh to x^17 for |v| < 0.4 (as kernels/elementwise's op_tanh): free of the
// cancellation the exp form suffers near 0, where llvmpipe's own tanh loses 2e-4 relative.
const TANH_SMALL = 'v + v * (v * v) * (-0.333333333333 + (v * v) * (0.133333333333 + (v * v) * (-0.0539682539683 + (v * v) * (0.0218694885362 + (v * v) * (-0.00886323552990 + (v * v) * (0.00359212803657 + (v * v) * (-0.00145583438705 + (v * v) * 0.00059002744094)))))))';

/**
 * Each activation as one expression of `v`, computing what the IR op of the same name computes.
 * gelu uses ½(1 + tanh u) = sigmoid(2u), so no cancellation for very negative v.
 */
export const ACTIVATION_WGSL: Readonly<Record<string, string>> = {
  '': '',
  relu: 'max(v, 0.0)',
  sigmoid: 'select(exp(v) / (1.0 + exp(v)), 1.0 / (1.0 + exp(-v)), v >= 0.0)',
  gelu: 'v / (1.0 + exp(-1.5957691216057308 * (v + 0.044715 * v * v * v)))',
  tanh: `select(sign(v) * (1.0 - 2.0 / (exp(2.0 * min(abs(v), 20.0)) + 1.0)), ${TANH_SMALL}, abs(v) < 0.4)`,
};

/**
 * Sizes and per-operand batch strides of one matmul launch after batch handling (see
 * compiler/schedule/lowerMatmul.ts): the library's resolved sizes, less what this file derives.
 */
export type MatmulDims = Omit<ResolvedMatmul, 'strideC' | 'outShape'>;

export interface MatmulEpilogue {
  transA: boolean;
  transB: boolean;
  concat: boolean;
  concatScale: number;
  bias: boolean;
  rowBias: boolean;
  alpha: number;
  scale: number;
  activation: string;
}

/** Spec, uniform and grid for one matmul; bindings a, b, [a2, b2], [bias], [rowBias], c, uniform. */
export function matmulKernel(dims: MatmulDims, e: MatmulEpilogue, config: MatmulConfig, label: string, maxWorkgroupsPerDimension: number): EmittedKernel {
  const resolved: ResolvedMatmul = {
    M: dims.M, N: dims.N, K: dims.K, K2: dims.K2, batch: dims.batch,
    strideA: dims.strideA, strideB: dims.strideB, strideC: dims.batch > 1 ? dims.M * dims.N : 0,
    strideA2: dims.strideA2, strideB2: dims.strideB2,
    outShape: dims.batch > 1 ? [dims.batch, dims.M, dims.N] : [dims.M, dims.N],
  };
  const variant = chooseVariant(config, resolved, {
    transA: e.transA,
    transB: e.transB,
    beta: false,
    biasN: e.bias,
    biasM: e.rowBias,
    scale: e.scale !== 1,
    activation: ACTIVATION_WGSL[e.activation] ?? '',
    concat: e.concat,
  });
  const { params, groups } = matmulLaunch(resolved, config, variant, {
    alpha: e.alpha,
    beta: 0,
    concatScale: e.concat ? e.concatScale : 0,
    scale: e.scale,
  });
  const spec = matmulKernelSpec(config, variant);
  return {
    spec: { ...spec, label: `${label} [${configName(config)}.${variantKey(variant)}]` },
    uniform: packMatmulParams(params),
    workgroups: foldGrid(groups, maxWorkgroupsPerDimension),
  };
}
