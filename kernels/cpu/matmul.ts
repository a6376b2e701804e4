import type { HostTensor } from './host-tensor.ts';
import { resolveMatmul } from '../matmul/shapes.ts';

export type { HostTensor } from './host-tensor.ts';

export interface CpuMatmulArgs {
  a: HostTensor;
  b: HostTensor;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  /** Read when β ≠ 0; same shape as the output. */
  c?: HostTensor;
  /** One value per output column / per output row. */
  biasN?: HostTensor;
  biasM?: HostTensor;
  scale?: number;
  /** The elementwise function, as JS (the GPU takes the same function as a WGSL expression). */
  activation?: (v: number) => number;
  /** The concatenated inner dimension: + s·A2·B2ᵀ, A2 [M, K2], B2 [N, K2]. */
  concat?: { a2: HostTensor; b2: HostTensor; scale: number };
}

/**
 * The reference for the GPU matmul, as plain loops in double precision:
 *
 *   C = f(scale · (α·(op(A)·op(B) + s·A2·B2ᵀ) + β·C + biasN[n] + biasM[m]))
 *
 * Shapes are checked by the same rules (and give the same errors) as the GPU launcher.
 */
export function matmulCpu(args: CpuMatmulArgs): { data: Float32Array; shape: number[] } {
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  const r = resolveMatmul({
    a: args.a.shape,
    b: args.b.shape,
    transA,
    transB,
    c: args.beta ? args.c?.shape : undefined,
    biasN: args.biasN?.shape,
    biasM: args.biasM?.shape,
    a2: args.concat?.a2.shape,
    b2: args.concat?.b2.shape,
  });
  const { M, N, K, K2, batch } = r;
  const alpha = args.alpha ?? 1;
  const beta = args.beta ?? 0;
  const scale = args.scale ?? 1;
  const s = args.concat?.scale ?? 0;
  if (beta !== 0 && !args.c) throw new Error('matmulCpu: β ≠ 0 needs c');
  const a = args.a.data;
  const b = args.b.data;
  const a2 = args.concat?.a2.data;
  const b2 = args.concat?.b2.data;
  const out = new Float32Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const baseA = t * r.strideA;
    const baseB = t * r.strideB;
    const baseA2 = t * r.strideA2;
    const baseB2 = t * r.strideB2;
    const baseC = t * M * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[baseA + k * M + m]! : a[baseA + m * K + k]!;
          const bv = transB ? b[baseB + n * K + k]! : b[baseB + k * N + n]!;
          sum += av * bv;
        }
        let low = 0;
        for (let k = 0; k < K2; k++) low += a2![baseA2 + m * K2 + k]! * b2![baseB2 + n * K2 + k]!;
        let v = alpha * (sum + s * low);
        if (beta !== 0) v += beta * args.c!.data[baseC + m * N + n]!;
        if (args.biasN) v += args.biasN.data[n]!;
        if (args.biasM) v += args.biasM.data[m]!;
        v *= scale;
        if (args.activation) v = args.activation(v);
        out[baseC + m * N + n] = v;
      }
    }
  }
  return { data: out, shape: r.outShape };
}
