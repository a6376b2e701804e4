import { ceilDiv } from '../../runtime/grid.ts';
import { type ParamField, packParams } from '../params.ts';
import { type MatmulConfig, workgroupTile } from './config.ts';
import type { ResolvedMatmul } from './shapes.ts';
import type { MatmulVariant } from './variant.ts';

/** Everything about one matmul call that is not compiled in: one pipeline serves all of these. */
export interface MatmulParams {
  M: number;
  N: number;
  K: number;
  K2: number;
  batch: number;
  /** Workgroup tiles along N and along M (the grid is tilesN·tilesM·batch workgroups, folded). */
  tilesN: number;
  tilesM: number;
  /** Elements between consecutive batch entries of each operand; 0 broadcasts one matrix. */
  strideA: number;
  strideB: number;
  strideC: number;
  strideA2: number;
  strideB2: number;
  alpha: number;
  beta: number;
  /** s in [x | s·u]: multiplies the concatenated pair's product. */
  concatScale: number;
  /** The epilogue's scale, applied after the bias. */
  scale: number;
}

/** The WGSL declaration matching `packMatmulParams`, field for field. */
export const MATMUL_PARAMS_WGSL = /* wgsl */ `struct MatmulParams {
  M: u32, N: u32, K: u32, K2: u32,
  batch: u32, tilesN: u32, tilesM: u32, strideA: u32,
  strideB: u32, strideC: u32, strideA2: u32, strideB2: u32,
  alpha: f32, beta: f32, concatScale: f32, scale: f32,
}`;

export function packMatmulParams(p: MatmulParams): Uint8Array {
  const u = (v: number): ParamField => ({ u32: v });
  const f = (v: number): ParamField => ({ f32: v });
  return packParams([
    u(p.M), u(p.N), u(p.K), u(p.K2),
    u(p.batch), u(p.tilesN), u(p.tilesM), u(p.strideA),
    u(p.strideB), u(p.strideC), u(p.strideA2), u(p.strideB2),
    f(p.alpha), f(p.beta), f(p.concatScale), f(p.scale),
  ]);
}

/** The scalars of a call that the uniform carries besides sizes. */
export interface MatmulScalars {
  alpha: number;
  beta: number;
  concatScale: number;
  scale: number;
}

/**
 * The uniform and the workgroup count of one launch: sizes and strides as resolved, tiles from
 * the config's workgroup tile. One place for the launcher and the compiler's scheduler alike.
 */
export function matmulLaunch(
  r: Pick<ResolvedMatmul, 'M' | 'N' | 'K' | 'K2' | 'batch' | 'strideA' | 'strideB' | 'strideC' | 'strideA2' | 'strideB2'>,
  config: MatmulConfig,
  variant: Pick<MatmulVariant, 'concat'>,
  scalars: MatmulScalars,
): { params: MatmulParams; groups: number } {
  const { rows, cols } = workgroupTile(config);
  const params: MatmulParams = {
    M: r.M,
    N: r.N,
    K: r.K,
    K2: variant.concat ? r.K2 : 0,
    batch: r.batch,
    tilesN: ceilDiv(r.N, cols),
    tilesM: ceilDiv(r.M, rows),
    strideA: r.strideA,
    strideB: r.strideB,
    strideC: r.strideC,
    strideA2: r.strideA2,
    strideB2: r.strideB2,
    ...scalars,
  };
  return { params, groups: params.tilesN * params.tilesM * params.batch };
}
