/**
 * Tiny Hugging Face checkpoints made by the tests themselves (config.json with HF's field names and
 * model.safetensors with HF's tensor names, in a temp dir), and what the architecture tests share:
 * compiling an example entry, the frozen tensors it expects, and loading the checkpoint into them
 * through io/baseWeights.ts with the example's rename table.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSourceFile } from '../../cli/commands/check.ts';
import { type CompiledUnit, compileSwag } from '../../compiler/compile.ts';
import { type Feed, type Graph, evaluate } from '../../compiler/ir/index.ts';
import type { ScheduleLimits, Target } from '../../compiler/schedule/types.ts';
import { type RenameTable, loadBaseWeights } from '../../io/baseWeights.ts';
import { writeSafetensors } from '../../io/safetensors.ts';
import { rng } from '../helpers/random.ts';

/** A row-major f32 tensor of the checkpoint. */
export interface HfTensor {
  shape: number[];
  data: Float32Array;
}

/** Seeded random values, uniform in ±scale. */
export function randomTensor(shape: number[], seed: number, scale: number): HfTensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, () => (2 * r() - 1) * scale) };
}

/** Writes config.json and model.safetensors (F32) into a new temp dir; returns the safetensors path and a cleanup. */
export async function writeCheckpoint(config: object, tensors: Record<string, HfTensor>): Promise<{ dir: string; file: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'swaglet-hf-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const file = join(dir, 'model.safetensors');
  await writeSafetensors(file, Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: t.data }])));
  return { dir, file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The rename table shipped beside an example. */
export function renameTable(path: string): RenameTable {
  return JSON.parse(readFileSync(path, 'utf8')) as RenameTable;
}

/** Compiles one entry of an example at the given sizes; throws with the diagnostics if it does not compile. */
export function compileEntry(file: string, entry: string, dims: Record<string, number>, options: { target?: Target; limits?: ScheduleLimits } = {}): CompiledUnit {
  const r = compileSwag(readFileSync(file, 'utf8'), file, { target: options.target ?? 'cpu', ...(options.limits ? { limits: options.limits } : {}), dims, readFile: readSourceFile, entries: [entry] });
  if (r.diagnostics.length || !r.units[0]) throw new Error(`${file} ${entry}:\n${r.diagnostics.join('\n')}`);
  return r.units[0];
}

/** Every pretrained tensor the unit loads: `.swag` path → shape (what loadBaseWeights expects). */
export function expectedFrozen(unit: CompiledUnit): Map<string, readonly number[]> {
  return new Map(unit.network!.tensors.filter((t) => t.init.kind === 'load').map((t) => [t.path, t.shape]));
}

/** Loads the checkpoint into the unit's frozen tensors, as f64 feeds for the interpreter. */
export async function loadFrozen(unit: CompiledUnit, file: string, rename: RenameTable): Promise<Record<string, Float64Array>> {
  const loaded = await loadBaseWeights({ files: file, rename, expected: expectedFrozen(unit) });
  return Object.fromEntries([...loaded].map(([k, v]) => [k, Float64Array.from(v)]));
}

/** y = x Wᵀ (+ bias) for row-major x [n, in], W [out, in]. */
export function linear(x: Float64Array, n: number, w: HfTensor, bias?: HfTensor): Float64Array {
  const [out, inn] = w.shape as [number, number];
  const y = new Float64Array(n * out);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < out; o++) {
      let s = bias ? bias.data[o]! : 0;
      for (let k = 0; k < inn; k++) s += x[i * inn + k]! * w.data[o * inn + k]!;
      y[i * out + o] = s;
    }
  }
  return y;
}

/** Softmax of each row of `rows` values, in place; entries with keep 0 get no weight. */
export function maskedSoftmax(scores: Float64Array, keep: (j: number) => boolean): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < scores.length; j++) if (keep(j)) m = Math.max(m, scores[j]!);
  let z = 0;
  const p = new Float64Array(scores.length);
  for (let j = 0; j < scores.length; j++) {
    p[j] = keep(j) ? Math.exp(scores[j]! - m) : 0;
    z += p[j]!;
  }
  for (let j = 0; j < p.length; j++) p[j]! /= z;
  return p;
}

/** Largest |a − b| over the largest |b|. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let scale = 1e-30;
  let worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst / scale;
}

/** The interpreter's value of a forward graph's one output. */
export function forwardOut(graph: Graph, feeds: Record<string, Feed>): Float64Array {
  const out = Object.values(evaluate(graph, feeds));
  if (out.length !== 1) throw new Error(`expected one output, got ${out.length}`);
  return out[0] as Float64Array;
}
