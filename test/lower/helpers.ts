/** Shared helpers for the lowering tests: checked examples, lowering that must succeed, data. */
import { existsSync, readFileSync } from 'node:fs';
import { checkSource, type CheckedProgram } from '../../compiler/index.ts';
import { numel, type Feed, type Graph } from '../../compiler/ir/index.ts';
import { formatLowerDiagnostic, lowerProgram, type LowerRequest, type LoweredNetwork, type LoweredPosterior } from '../../compiler/lower/index.ts';
import { rng } from '../helpers/random.ts';

/** Small sizes for the two model examples. */
export const MLP_DIMS = { features: 7, hidden: 6, classes: 3, n: 4 };
export const USE_DIMS = { vocab: 11, d1: 8, d2: 12, h: 2, f1: 10, f2: 14, classes: 3, b: 2, t: 5 };

const readFile = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);

/** A source text checked clean (imports resolve against the working directory). */
export function checked(text: string, file = 'examples/test.swag'): CheckedProgram {
  const r = checkSource(text, file, { readFile });
  if (r.diagnostics.length) throw new Error(r.diagnostics.map((d) => `${d.span.file}:${d.span.start.line}: ${d.message}`).join('\n'));
  return r.program;
}

const cache = new Map<string, CheckedProgram>();

/** A shipped example, checked. */
export function example(name: string): CheckedProgram {
  let p = cache.get(name);
  if (!p) {
    p = checked(readFileSync(`examples/${name}`, 'utf8'), `examples/${name}`);
    cache.set(name, p);
  }
  return p;
}

/** Lowers and fails the test with the lowering's messages when it does not succeed. */
export function lower(program: CheckedProgram, req: LowerRequest): { network?: LoweredNetwork; posterior?: LoweredPosterior } {
  const r = lowerProgram(program, req);
  if (!r.ok) throw new Error(r.errors.map(formatLowerDiagnostic).join('\n'));
  return r;
}

export function network(program: CheckedProgram, req: LowerRequest): LoweredNetwork {
  const n = lower(program, req).network;
  if (!n) throw new Error('no network');
  return n;
}

/** Uniform data in [lo, hi), reproducible. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Random f32 data for every f32 input of `g` not given; i32 inputs must be given. */
export function feedsFor(g: Graph, seed: number, given: Record<string, Feed> = {}, scale = 1): Record<string, Feed> {
  const feeds: Record<string, Feed> = { ...given };
  let k = seed;
  for (const i of g.inputs) {
    if (i.name in feeds) continue;
    const node = g.nodes[i.node]!;
    if (node.dtype === 'i32') throw new Error(`give data for i32 input ${i.name}`);
    feeds[i.name] = uniform(numel(node.shape), k++, -scale, scale);
  }
  return feeds;
}

export function shapeOf(g: Graph, input: string): readonly number[] {
  const i = g.inputs.find((x) => x.name === input);
  if (!i) throw new Error(`no input ${input}`);
  return g.nodes[i.node]!.shape;
}

/** Row-major matrix product of plain arrays: a [m, k] · b [k, n], with optional transposes. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, opts: { transA?: boolean; transB?: boolean } = {}): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += (opts.transA ? a[q * m + i]! : a[i * k + q]!) * (opts.transB ? b[j * k + q]! : b[q * n + j]!);
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Largest |a − b| relative to the largest |b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let scale = 1e-12;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    const d = Math.abs(a[i]! - b[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst / scale;
}

/** Labels in [0, classes). */
export function labels(n: number, classes: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * classes));
}
