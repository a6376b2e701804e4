/**
 * CPU implementations of the builtin initializers, and the initialization of a lowered network.
 *
 * Deterministic: element i of a tensor is a pure function of (key, i), with a counter-based hash
 * (the IR's lowbias32, applied twice). The key is
 * - for a seeded initializer (`kaiming_uniform(seed: 1)`): the seed alone, so every layer gets the
 *   same values for the same shape and every run too — VeRA's shared frozen matrices, LoRA-FA's A;
 * - otherwise: the run's seed and the tensor's full path, so tensors differ and runs repeat.
 *
 * PyTorch's conventions (torch.nn.init): fan_in is the last axis, fan_out the one before it (a
 * weight [out, in]); kaiming_uniform is uniform in ±√(6 / ((1 + a²)·fan_in)), kaiming_normal has
 * std √(2 / ((1 + a²)·fan_in)), xavier_uniform is uniform in ±gain·√(6 / (fan_in + fan_out)).
 * Normal draws use Box–Muller on pairs of uniforms in (0, 1).
 */
import { evaluate, lowbias32 } from '../ir/index.ts';
import type { TensorInfo } from './lowerProgram.ts';

/** fan_in: the last axis (1 for a scalar). */
export function fanIn(shape: readonly number[]): number {
  return shape.length ? shape[shape.length - 1]! : 1;
}

/** fan_out: the axis before the last (1 for a vector or scalar). */
export function fanOut(shape: readonly number[]): number {
  return shape.length >= 2 ? shape[shape.length - 2]! : 1;
}

/** PyTorch's kaiming_uniform_ bound for negative slope `a`. */
export function kaimingUniformBound(a: number, fan: number): number {
  return Math.sqrt(6 / ((1 + a * a) * fan));
}

/** 32-bit FNV-1a of a string, for keys from paths. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A counter-based stream of uniforms in (0, 1): the i-th value depends on (key, i) only. */
export class CounterStream {
  private readonly key: number;

  constructor(key: number) {
    this.key = lowbias32(key >>> 0);
  }

  /** The key of a seeded initializer: the seed alone. */
  static seeded(seed: number): CounterStream {
    return new CounterStream(lowbias32((seed | 0) ^ 0x5eed5eed));
  }

  /** The key of an unseeded initializer: the run's seed and the tensor's path. */
  static forPath(runSeed: number, path: string): CounterStream {
    return new CounterStream(lowbias32(runSeed | 0) ^ hashString(path));
  }

  /** Uniform in (0, 1) with 53 random bits (two hashes). */
  uniform(i: number): number {
    const hi = lowbias32((this.key + 2 * i) >>> 0) >>> 5; // 27 bits
    const lo = lowbias32((lowbias32(this.key) + 2 * i + 1) >>> 0) >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Standard normal: Box–Muller on the uniform pair (2j, 2j + 1); element i takes cos or sin of pair i >> 1. */
  normal(i: number): number {
    const j = i >> 1;
    const u1 = this.uniform(2 * j);
    const u2 = this.uniform(2 * j + 1);
    const r = Math.sqrt(-2 * Math.log(u1));
    return i & 1 ? r * Math.sin(2 * Math.PI * u2) : r * Math.cos(2 * Math.PI * u2);
  }
}

/** Where the randomness of an unseeded initializer comes from. */
export interface InitContext {
  /** The run's seed (default 0). */
  seed?: number;
  /** The tensor's full path. */
  path?: string;
}

/** The builtin initializers this module knows. */
export const BUILTIN_INITIALIZERS = ['zeros', 'ones', 'fill', 'normal', 'uniform', 'kaiming_uniform', 'kaiming_normal', 'xavier_uniform'] as const;

/** One tensor from a builtin initializer, row-major f32. */
export function initBuiltin(name: string, options: Readonly<Record<string, number>>, shape: readonly number[], ctx: InitContext = {}): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(n);
  const opt = (k: string, d: number): number => options[k] ?? d;
  const stream = options.seed !== undefined ? CounterStream.seeded(options.seed) : CounterStream.forPath(ctx.seed ?? 0, ctx.path ?? '');
  const uniform = (lo: number, hi: number): void => {
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * stream.uniform(i);
  };
  const normal = (mean: number, std: number): void => {
    for (let i = 0; i < n; i++) out[i] = mean + std * stream.normal(i);
  };
  switch (name) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'fill':
      return out.fill(opt('value', 0));
    case 'normal':
      normal(opt('mean', 0), opt('std', 1));
      return out;
    case 'uniform':
      uniform(opt('low', 0), opt('high', 1));
      return out;
    case 'kaiming_uniform': {
      const bound = kaimingUniformBound(opt('a', Math.sqrt(5)), fanIn(shape));
      uniform(-bound, bound);
      return out;
    }
    case 'kaiming_normal': {
      const a = opt('a', 0);
      normal(0, Math.sqrt(2 / ((1 + a * a) * fanIn(shape))));
      return out;
    }
    case 'xavier_uniform': {
      const bound = opt('gain', 1) * Math.sqrt(6 / (fanIn(shape) + fanOut(shape)));
      uniform(-bound, bound);
      return out;
    }
    default:
      throw new Error(`no initializer ${name} (known: ${BUILTIN_INITIALIZERS.join(', ')})`);
  }
}

/**
 * Initial values of every tensor of a lowered network: builtins generated, `load` tensors taken
 * from `loaded` (the checkpoint: linear weights, frozen base tensors), expressions (`row_norm(W)`)
 * evaluated with the IR interpreter once the tensors they read have values.
 */
export function initializeNetwork(
  network: { tensors: readonly Pick<TensorInfo, 'path' | 'shape' | 'init'>[] },
  options: { seed?: number; loaded?: ReadonlyMap<string, ArrayLike<number>> | Readonly<Record<string, ArrayLike<number>>> } = {},
): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  const loaded = options.loaded;
  const fromCheckpoint = (p: string) => (loaded instanceof Map ? loaded.get(p) : (loaded as Record<string, ArrayLike<number>> | undefined)?.[p]);
  const missing: string[] = [];
  for (const t of network.tensors) {
    const size = t.shape.reduce((p, d) => p * d, 1);
    if (t.init.kind === 'builtin') values.set(t.path, initBuiltin(t.init.name, t.init.options, t.shape, { seed: options.seed ?? 0, path: t.path }));
    else if (t.init.kind === 'load') {
      const v = fromCheckpoint(t.path);
      if (!v) missing.push(t.path);
      else if (v.length !== size) throw new Error(`${t.path}: the checkpoint has ${v.length} values, the tensor [${t.shape.join(', ')}] needs ${size}`);
      // A Float32Array is taken as is: a base checkpoint's tensors can be large, and are not copied again.
      else values.set(t.path, v instanceof Float32Array ? v : Float32Array.from(v));
    }
  }
  if (missing.length) throw new Error(`no checkpoint values for ${missing.join(', ')}`);
  let pending = network.tensors.filter((t) => t.init.kind === 'expr');
  while (pending.length) {
    const ready = pending.filter((t) => t.init.kind === 'expr' && t.init.inputs.every((p) => values.has(p)));
    if (!ready.length) throw new Error(`initializers depend on each other: ${pending.map((t) => t.path).join(', ')}`);
    for (const t of ready) {
      if (t.init.kind !== 'expr') continue;
      const feeds = Object.fromEntries(t.init.inputs.map((p) => [p, values.get(p)!]));
      values.set(t.path, Float32Array.from(evaluate(t.init.graph, feeds).value!));
    }
    pending = pending.filter((t) => !ready.includes(t));
  }
  return values;
}
