/**
 * The matmul kernels come from the library (kernels/matmul): this file only turns resolved sizes,
 * the fused epilogue and a tile config into the library's spec and uniform, and writes each
 * activation as the single WGSL expression of `v` the library's epilogue hook takes (a call of
 * the op's helper from the one op → WGSL table, which the library defines in the kernel).
 */
import { type MatmulConfig, configName } from '../../../kernels/matmul/config.ts';
import { chooseVariant } from '../../../kernels/matmul/launch.ts';
import { matmulLaunch, packMatmulParams } from '../../../kernels/matmul/params.ts';
import type { ResolvedMatmul } from '../../../kernels/matmul/shapes.ts';
import { variantKey } from '../../../kernels/matmul/variant.ts';
import { matmulKernelSpec } from '../../../kernels/matmul/wgsl.ts';
import { renderUnary, type UnaryOp } from '../../../kernels/elementwise/ops.ts';
import { MATMUL_ACTIVATIONS } from '../../ir/index.ts';
import { foldGrid } from '../../../abi/grid.ts';
import type { EmittedKernel } from './elementwise.ts';

/**
 * Each activation as one expression of `v`, from the one op → WGSL table (kernels/elementwise/ops.ts):
 * the same formula, and the same helper functions, as the elementwise kernel of that op.
 */
export const ACTIVATION_WGSL: Readonly<Record<string, string>> = Object.fromEntries(
  MATMUL_ACTIVATIONS.map((op) => [op, op === '' ? '' : renderUnary(op as UnaryOp, 'v')]),
);

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
