import type { CompiledKernel, Device } from '../../runtime/device.ts';
import { KernelError, ShapeError } from '../../runtime/errors.ts';
import { foldGrid } from '../../runtime/grid.ts';
import type { Tensor } from '../../runtime/tensor.ts';
import { type MatmulConfig, type MatmulShape, type MatmulTarget, configName, configProblem, defaultConfig } from './config.ts';
import { matmulLaunch, packMatmulParams } from './params.ts';
import { type ResolvedMatmul, resolveMatmul } from './shapes.ts';
import { type MatmulVariant, variantKey } from './variant.ts';
import { matmulKernelSpec } from './wgsl.ts';

export interface MatmulArgs {
  /** [M, K] ([K, M] with transA), or a batch of them [batch, ·, ·]. */
  a: Tensor;
  /** [K, N] ([N, K] with transB), or a batch of them. A batch of 1 (or a plain matrix) is broadcast. */
  b: Tensor;
  transA?: boolean;
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0. When ≠ 0, β·C is added: C is `c`, or `out` itself when `c` is not given. */
  beta?: number;
  c?: Tensor;
  /** Where to write; a new tensor when absent. May be `c` (in place). */
  out?: Tensor;
  /** Added to every row: one value per output column, [N]. */
  bias?: Tensor;
  /** Added to every column: one value per output row, [M]. */
  rowBias?: Tensor;
  epilogue?: {
    /** Multiplies after the biases. */
    scale?: number;
    /** A WGSL expression of `v: f32` applied last, e.g. `max(v, 0.0)` or `tanh(v)`. */
    fn?: string;
  };
  /**
   * The concatenated inner dimension, for the fused LoRA form [x | s·u] @ [W | B]ᵀ:
   * adds s·A2·B2ᵀ, A2 [M, K2], B2 [N, K2] (or batches), in the same kernel pass.
   */
  concat?: { a2: Tensor; b2: Tensor; scale: number };
  /** The tile config; `defaultConfig` for the shape when absent. */
  config?: MatmulConfig;
}

/** The problem-size part of a call, as the config chooser sees it. */
export function matmulShapeOf(args: MatmulArgs): MatmulShape {
  const r = resolveMatmulArgs(args);
  return { M: r.M, N: r.N, K: r.K, K2: r.K2, batch: r.batch };
}

export function deviceTarget(device: Device): MatmulTarget {
  return device.report.isCpu ? 'cpu' : 'gpu';
}

/** Checks a call's shapes (ShapeError naming both shapes of a mismatch) and works out its sizes. */
export function resolveMatmulArgs(args: MatmulArgs): ResolvedMatmul {
  const beta = args.beta ?? 0;
  return resolveMatmul({
    a: args.a.shape,
    b: args.b.shape,
    transA: args.transA,
    transB: args.transB,
    c: beta !== 0 ? args.c?.shape : undefined,
    out: args.out?.shape,
    biasN: args.bias?.shape,
    biasM: args.rowBias?.shape,
    a2: args.concat?.a2.shape,
    b2: args.concat?.b2.shape,
  });
}

/**
 * Which loads and stores may be vec4: a dimension that is contiguous in memory and a multiple
 * of 4 (so every row, and every batch entry, starts on a vec4). Pure.
 */
export function chooseVariant(config: MatmulConfig, r: ResolvedMatmul, features: Omit<MatmulVariant, 'vecA' | 'vecB' | 'vecC' | 'vecConcat'>): MatmulVariant {
  const loads = config.vec4 && config.kind === 'register';
  const four = (n: number) => n > 0 && n % 4 === 0;
  const vecA = loads && (features.transA ? four(r.M) && config.tileM % 4 === 0 : four(r.K));
  const vecB = loads && (features.transB ? four(r.K) : four(r.N));
  return {
    ...features,
    vecA,
    vecB,
    vecC: config.vec4 && four(r.N),
    vecConcat: loads && features.concat && four(r.K2),
  };
}

const compiled = new WeakMap<Device, Map<string, Promise<CompiledKernel>>>();

/** Compiles (once per device) the kernel for a config and variant. */
export function matmulKernel(device: Device, config: MatmulConfig, variant: MatmulVariant): Promise<CompiledKernel> {
  let cache = compiled.get(device);
  if (!cache) compiled.set(device, (cache = new Map()));
  const key = `${configName(config)}|${variantKey(variant)}`;
  let kernel = cache.get(key);
  if (!kernel) {
    kernel = device.kernel(matmulKernelSpec(config, variant));
    cache.set(key, kernel);
    kernel.catch(() => cache.delete(key));
  }
  return kernel;
}

function checkOperands(args: MatmulArgs, out: Tensor | undefined): void {
  const inputs: Array<[string, Tensor | undefined]> = [
    ['A', args.a], ['B', args.b], ['bias', args.bias], ['rowBias', args.rowBias],
    ['A2', args.concat?.a2], ['B2', args.concat?.b2], ['C', args.c], ['out', out],
  ];
  for (const [name, t] of inputs) {
    if (t && t.dtype !== 'f32') throw new ShapeError(`matmul: ${name} is ${t}; matmul takes f32 tensors`);
    if (t?.isReleased) throw new ShapeError(`matmul: ${name} (${t}) was released`);
  }
  if (out) {
    for (const [name, t] of inputs.slice(0, 6)) {
      if (t && t.buffer === out.buffer) throw new KernelError(`matmul: out shares its buffer with ${name}; write to another tensor`);
    }
  }
}

/**
 * Records C = f(scale·(α·(op(A)·op(B) + s·A2·B2ᵀ) + β·C + bias + rowBias)) and returns the output
 * tensor. Nothing is read back; the work runs at the device's next flush, read or sync.
 */
export async function matmul(device: Device, args: MatmulArgs): Promise<Tensor> {
  const r = resolveMatmulArgs(args);
  const beta = args.beta ?? 0;
  if (beta !== 0 && !args.c && !args.out) throw new ShapeError('matmul: β ≠ 0 needs C: pass c, or out to update in place');
  checkOperands(args, args.out);
  const config = args.config ?? defaultConfig({ M: r.M, N: r.N, K: r.K, K2: r.K2, batch: r.batch }, device.limits, deviceTarget(device));
  const problem = configProblem(config, device.limits);
  if (problem) throw new KernelError(`matmul: config ${configName(config)} cannot run here: ${problem}`);

  const out = args.out ?? device.empty(r.outShape);
  if (beta !== 0 && args.c && args.c.buffer !== out.buffer) device.copy(args.c, out);
  if (r.M === 0 || r.N === 0 || r.batch === 0) return out;

  const variant = chooseVariant(config, r, {
    transA: args.transA ?? false,
    transB: args.transB ?? false,
    beta: beta !== 0,
    biasN: args.bias !== undefined,
    biasM: args.rowBias !== undefined,
    scale: args.epilogue?.scale !== undefined && args.epilogue.scale !== 1,
    activation: args.epilogue?.fn?.trim() ?? '',
    concat: args.concat !== undefined && r.K2 > 0,
  });
  const kernel = await matmulKernel(device, config, variant);
  const { params, groups } = matmulLaunch(r, config, variant, {
    alpha: args.alpha ?? 1,
    beta,
    concatScale: args.concat?.scale ?? 0,
    scale: args.epilogue?.scale ?? 1,
  });
  const bindings: Tensor[] = [args.a, args.b];
  if (variant.concat) bindings.push(args.concat!.a2, args.concat!.b2);
  if (variant.biasN) bindings.push(args.bias!);
  if (variant.biasM) bindings.push(args.rowBias!);
  bindings.push(out);
  device.dispatch(kernel, [...bindings, packMatmulParams(params)], foldGrid(groups, device.limits.maxComputeWorkgroupsPerDimension));
  return out;
}
