/**
 * Base checkpoints: the frozen tensors of a finetune (linear weights, embeddings, norms) from a
 * Hugging Face-style safetensors checkpoint — one file, several, or a sharded checkpoint through
 * its `model.safetensors.index.json`.
 *
 * Names equal to `.swag` paths need nothing; others go through a rename table (io/rename.ts),
 * which may also slice a fused tensor (GPT-2's `c_attn` into q, k, v) or transpose one (GPT-2's
 * `Conv1D` stores [in, out]). Everything is checked from the headers alone before any data is read,
 * and every problem goes into one BaseWeightsError. Then only the needed tensors are read, each
 * once, straight into f32 (F16/BF16/F64 converted), so a 2 GB checkpoint is not held twice.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { FLOAT_DTYPES, SafetensorsFile } from './lazytensors.ts';
import type { SafetensorsHeaderEntry } from './safetensors.ts';
import { type RenameTable, type ResolvedTarget, Renamer, applyTarget, targetShape } from './rename.ts';

export type { RenameTable, RenameTarget } from './rename.ts';

export interface BaseWeightsOptions {
  /** A `.safetensors` file, a list of them, or a `model.safetensors.index.json` (sharded). Absolute paths. */
  files: string | readonly string[];
  rename?: RenameTable;
  /** Every frozen tensor the finetune needs: `.swag` path -> shape. */
  expected: ReadonlyMap<string, readonly number[]>;
}

/** One shape mismatch: the target, the shape the finetune needs, what the checkpoint gives and from which tensor. */
export interface ShapeMismatch {
  target: string;
  expected: number[];
  actual: number[];
  source: string;
}

/** What a BaseWeightsError lists. */
export interface BaseWeightsProblems {
  missing: string[];
  unused: string[];
  mismatches: ShapeMismatch[];
  problems: string[];
}

/** Thrown with ONE message that lists every missing name, every unused name and every shape mismatch (both shapes). */
export class BaseWeightsError extends Error {
  /** Expected `.swag` paths no checkpoint tensor provides. */
  readonly missing: string[];
  /** Checkpoint tensors nothing uses. */
  readonly unused: string[];
  readonly mismatches: ShapeMismatch[];
  /** Everything else: unreadable files, a bad index or rename table, duplicates, dtypes. */
  readonly problems: string[];

  constructor(message: string, details: Partial<BaseWeightsProblems> = {}) {
    super(message);
    this.name = 'BaseWeightsError';
    this.missing = details.missing ?? [];
    this.unused = details.unused ?? [];
    this.mismatches = details.mismatches ?? [];
    this.problems = details.problems ?? [];
  }
}

/** A checkpoint tensor and the file that holds it. */
interface Located {
  file: SafetensorsFile;
  entry: SafetensorsHeaderEntry;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Opens every file (an index opens its shards) and indexes the tensors by name, recording problems. */
async function openCheckpoint(paths: readonly string[], opened: SafetensorsFile[], problems: string[]): Promise<Map<string, Located>> {
  const byPath = new Map<string, SafetensorsFile | null>();
  const openOnce = async (path: string): Promise<SafetensorsFile | null> => {
    if (byPath.has(path)) return byPath.get(path)!;
    let file: SafetensorsFile | null = null;
    try {
      file = await SafetensorsFile.open(path);
      opened.push(file);
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
    byPath.set(path, file);
    return file;
  };
  const tensors = new Map<string, Located>();
  const add = (name: string, loc: Located): void => {
    const prev = tensors.get(name);
    if (prev && prev.file !== loc.file) problems.push(`tensor '${name}' is in both ${prev.file.path} and ${loc.file.path}`);
    else tensors.set(name, loc);
  };
  for (const path of paths) {
    if (path.endsWith('.json')) {
      const map = await readIndex(path, problems);
      if (!map) continue;
      for (const [name, shard] of map) {
        const file = await openOnce(resolve(dirname(path), shard));
        if (!file) continue;
        const entry = file.byName.get(name);
        if (!entry) problems.push(`${path}: weight_map puts '${name}' in ${shard}, which has no such tensor`);
        else add(name, { file, entry });
      }
    } else {
      const file = await openOnce(path);
      if (file) for (const entry of file.header.entries) add(entry.name, { file, entry });
    }
  }
  return tensors;
}

/** A sharded checkpoint's index: tensor name -> shard file (relative to the index). */
async function readIndex(path: string, problems: string[]): Promise<Map<string, string> | undefined> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push(`${path}: ${code === 'ENOENT' ? 'no such file' : code ? `cannot read (${code})` : `not valid JSON (${(e as Error).message})`}`);
    return undefined;
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) {
    problems.push(`${path}: a sharded checkpoint's index needs a "weight_map" object (tensor name -> shard file)`);
    return undefined;
  }
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') problems.push(`${path}: weight_map['${name}'] must be a file name, got ${JSON.stringify(shard)}`);
    else out.set(name, shard);
  }
  return out;
}

/** One tensor to produce: which checkpoint tensor, and how. */
interface Planned {
  target: ResolvedTarget;
  source: string;
}

function formatError(files: readonly string[], d: BaseWeightsProblems, expected: BaseWeightsOptions['expected']): string {
  const lines = [`the base checkpoint (${files.map((f) => basename(f)).join(', ')}) does not fit the finetune:`];
  if (d.missing.length) {
    lines.push(`  missing (${d.missing.length}, expected but not in the checkpoint):`);
    for (const m of d.missing) lines.push(`    ${m} ${shapeText(expected.get(m) ?? [])}`);
  }
  if (d.unused.length) {
    lines.push(`  unused (${d.unused.length}, in the checkpoint but used by nothing; map them in rename, or drop them with "name": []):`);
    for (const u of d.unused) lines.push(`    ${u}`);
  }
  if (d.mismatches.length) {
    lines.push(`  shape mismatch (${d.mismatches.length}):`);
    for (const m of d.mismatches) {
      const from = m.source === m.target ? '' : ` (from '${m.source}')`;
      lines.push(`    ${m.target}: the finetune needs ${shapeText(m.expected)}, the checkpoint gives ${shapeText(m.actual)}${from}`);
    }
  }
  if (d.problems.length) {
    lines.push(`  other problems (${d.problems.length}):`);
    for (const p of d.problems) lines.push(`    ${p}`);
  }
  return lines.join('\n');
}

/** Loads, converts (F16/BF16/F64 -> f32), renames, slices/transposes, and checks everything before returning. */
export async function loadBaseWeights(options: BaseWeightsOptions): Promise<Map<string, Float32Array>> {
  const files = typeof options.files === 'string' ? [options.files] : [...options.files];
  const { expected } = options;
  const missing: string[] = [];
  const unused: string[] = [];
  const mismatches: ShapeMismatch[] = [];
  const problems: string[] = [];
  if (files.length === 0) problems.push('no checkpoint files given');
  const renamer = new Renamer(options.rename);
  problems.push(...renamer.problems);

  const opened: SafetensorsFile[] = [];
  try {
    const tensors = await openCheckpoint(files.map((f) => resolve(f)), opened, problems);

    // Plan every target from the headers alone.
    const plan = new Map<string, Planned>();
    for (const [name, { file, entry }] of [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const m = renamer.match(name);
      let targets: ResolvedTarget[];
      if (m.kind === 'ambiguous') {
        problems.push(`'${name}' matches several rename patterns: ${m.patterns.map((p) => `'${p}'`).join(', ')}`);
        continue;
      } else if (m.kind === 'renamed') targets = m.targets;
      else if (expected.has(name)) targets = [{ to: name, transpose: false }];
      else {
        unused.push(name);
        continue;
      }
      if (targets.length && !FLOAT_DTYPES.has(entry.dtype)) {
        problems.push(`'${name}' in ${file.path} is ${entry.dtype}, not a floating-point dtype (F32, F16, BF16, F64)`);
        continue;
      }
      for (const t of targets) {
        const shape = targetShape(entry.shape, t);
        const want = expected.get(t.to);
        if (typeof shape === 'string') problems.push(`'${name}' -> '${t.to}': ${shape}`);
        else if (!want) problems.push(`'${name}' maps to '${t.to}', which is not a frozen tensor of the finetune`);
        else if (plan.has(t.to)) problems.push(`'${t.to}' is given twice: by '${plan.get(t.to)!.source}' and by '${name}'`);
        else {
          plan.set(t.to, { target: t, source: name });
          if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) mismatches.push({ target: t.to, expected: [...want], actual: shape, source: name });
        }
      }
    }
    for (const path of expected.keys()) if (!plan.has(path)) missing.push(path);
    missing.sort();

    if (missing.length || unused.length || mismatches.length || problems.length) {
      const details = { missing, unused, mismatches, problems };
      throw new BaseWeightsError(formatError(files, details, expected), details);
    }

    // Read each needed checkpoint tensor once; its targets share that one read.
    const bySource = new Map<string, ResolvedTarget[]>();
    for (const { target, source } of plan.values()) bySource.set(source, [...(bySource.get(source) ?? []), target]);
    const out = new Map<string, Float32Array>();
    for (const [source, targets] of bySource) {
      const { file, entry } = tensors.get(source)!;
      const data = await file.readFloat32(source);
      let handedOut = false;
      for (const t of targets) {
        const v = applyTarget(data, entry.shape, t);
        // Two untransformed targets of one tensor must not share one array.
        out.set(t.to, v === data && handedOut ? data.slice() : v);
        if (v === data) handedOut = true;
      }
    }
    // In the order the finetune lists its tensors.
    return new Map([...expected.keys()].map((k) => [k, out.get(k)!]));
  } finally {
    await Promise.all(opened.map((f) => f.close()));
  }
}
