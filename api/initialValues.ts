/**
 * A network's first values, at create time: parameters from their initializers (seeded: same
 * seed, same bytes), frozen tensors from the caller's weights, expressions (`row_norm(W)`) from
 * both. What the live `compile()` and every generated `create()` run, so a LoRA made through the
 * API starts with A ~ kaiming and B = 0 — not all zeros, which would never train.
 *
 * Kept apart from swaglet.ts so a generated module imports only this (the initializers, the IR
 * interpreter, the checkpoint reader), not the compiler.
 */
import { initializeNetwork } from '../compiler/lower/initializers.ts';
import type { TensorInfo } from '../compiler/lower/lowerProgram.ts';
import { type RenameTable, loadBaseWeights } from '../io/baseWeights.ts';

/** What initialization needs of a tensor (a lowered network's `tensors`, as generated modules embed them). */
export type TensorInit = Pick<TensorInfo, 'path' | 'shape' | 'role' | 'init'>;

/**
 * Where the frozen tensors' values come from:
 * - a Map or record of arrays by `.swag` path;
 * - a `.safetensors` file, a list of them, or a `model.safetensors.index.json` (absolute paths),
 *   or `{ files, rename }` for a checkpoint whose names differ (see io/baseWeights.ts);
 * - `'zeros'`: every frozen tensor starts at zero, on purpose (tests and callers that set them by
 *   hand afterwards with `set`).
 */
export type WeightsOption =
  | 'zeros'
  | string
  | readonly string[]
  | { files: string | readonly string[]; rename?: RenameTable }
  | ReadonlyMap<string, ArrayLike<number>>
  | Readonly<Record<string, ArrayLike<number>>>;

export interface InitialValuesOptions {
  /** The run's seed for unseeded initializers (default 0). */
  seed?: number;
  /** The frozen tensors' values; required when the network has any (see WeightsOption). */
  weights?: WeightsOption;
}

function isCheckpointSpec(w: unknown): w is { files: string | readonly string[]; rename?: RenameTable } {
  if (!w || typeof w !== 'object' || w instanceof Map || !('files' in w)) return false;
  const f = (w as { files: unknown }).files;
  return typeof f === 'string' || (Array.isArray(f) && f.every((x) => typeof x === 'string'));
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** The frozen values from `weights`, checked against the `load` tensors: every one present, sized right, nothing unknown. */
async function frozenValues(unit: string, loads: readonly TensorInit[], weights: WeightsOption | undefined): Promise<Map<string, ArrayLike<number>>> {
  const zeros = () => new Map(loads.map((t) => [t.path, new Float32Array(t.shape.reduce((p, d) => p * d, 1))]));
  if (weights === 'zeros') return zeros();
  if (weights === undefined) {
    if (loads.length === 0) return new Map();
    throw new Error(
      `${unit}: no values for its frozen tensors ${loads.map((t) => `${t.path} ${shapeText(t.shape)}`).join(', ')}; ` +
        `pass weights (a map of arrays, a .safetensors path, or { files, rename }), or weights: 'zeros' to set them by hand`,
    );
  }
  if (typeof weights === 'string' || Array.isArray(weights) || isCheckpointSpec(weights)) {
    const spec = isCheckpointSpec(weights) ? weights : { files: weights as string | readonly string[] };
    return loadBaseWeights({ ...spec, expected: new Map(loads.map((t) => [t.path, t.shape])) });
  }
  if (typeof weights !== 'object' || weights === null) throw new Error(`${unit}: weights must be a map of arrays, a checkpoint path, { files, rename } or 'zeros', got ${typeof weights}`);
  const given = weights instanceof Map ? (weights as ReadonlyMap<string, ArrayLike<number>>) : new Map(Object.entries(weights as Record<string, ArrayLike<number>>));
  const byPath = new Map(loads.map((t) => [t.path, t]));
  const problems: string[] = [];
  const missing = loads.filter((t) => !given.has(t.path)).map((t) => `${t.path} ${shapeText(t.shape)}`);
  if (missing.length) problems.push(`missing ${missing.join(', ')}`);
  const unknown = [...given.keys()].filter((k) => !byPath.has(k));
  if (unknown.length) problems.push(`not frozen tensors of ${unit}: ${unknown.join(', ')} (its frozen tensors: ${loads.map((t) => t.path).join(', ') || 'none'})`);
  for (const [k, v] of given) {
    const t = byPath.get(k);
    const n = t ? t.shape.reduce((p, d) => p * d, 1) : 0;
    if (t && (v == null || typeof v.length !== 'number')) problems.push(`${k} is not an array`);
    else if (t && v.length !== n) problems.push(`${k} has ${v.length} values, ${shapeText(t.shape)} needs ${n}`);
  }
  if (problems.length) throw new Error(`${unit}: the weights do not fit: ${problems.join('; ')}`);
  return new Map(given);
}

/**
 * `weights` for several units at once (a file with two finetunes): a checkpoint is read once for
 * all their frozen tensors, and a map's names are checked against all units together; each unit
 * then gets a map of its own names only.
 */
export async function splitWeights(units: readonly { name: string; tensors: readonly TensorInit[] }[], weights: WeightsOption | undefined): Promise<Array<WeightsOption | undefined>> {
  if (weights === undefined || weights === 'zeros' || units.length <= 1) return units.map(() => weights);
  const union = new Map<string, TensorInit>();
  for (const u of units) {
    for (const t of u.tensors) {
      if (t.init.kind !== 'load') continue;
      const prev = union.get(t.path);
      if (prev && shapeText(prev.shape) !== shapeText(t.shape)) throw new Error(`units differ on frozen tensor ${t.path}: ${shapeText(prev.shape)} and ${shapeText(t.shape)}; compile them one at a time (entries)`);
      union.set(t.path, t);
    }
  }
  const all = await frozenValues(units.map((u) => u.name).join(', '), [...union.values()], weights);
  return units.map((u) => new Map(u.tensors.filter((t) => t.init.kind === 'load').map((t) => [t.path, all.get(t.path)!])));
}

/**
 * Every tensor's first value: parameters and seeded frozen tensors from their initializers,
 * `load` tensors from `weights`, expressions evaluated on those. `unit` names the network in errors.
 */
export async function initialValues(unit: string, tensors: readonly TensorInit[], options: InitialValuesOptions = {}): Promise<Map<string, Float32Array>> {
  const loads = tensors.filter((t) => t.init.kind === 'load');
  const loaded = await frozenValues(unit, loads, options.weights);
  return initializeNetwork({ tensors }, { seed: options.seed ?? 0, loaded });
}
