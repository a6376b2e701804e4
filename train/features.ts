/**
 * Per-example rows on the host: the data inputs of a dataset (token ids, masks) and the features
 * the frozen prefix computes from them, computed once and reused by every training step, every
 * run and every posterior sample. Stored as safetensors so a rerun skips the prefix entirely.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { f16Lookup, numberToF16Bits, readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import type { Tensor } from '../runtime/index.ts';
import type { FeatureSpec, Network } from './network.ts';

/**
 * One column's elements. An f32 feature is kept either as f32 or, to halve a large cache, as the
 * bits of binary16 values (a Uint16Array; `gather` widens them back to f32 for the device).
 */
export type Rows = Float32Array | Int32Array | Uint16Array;

/** How f32 features are stored on the host and on disk. */
export type FeatureStorage = 'f32' | 'f16';

/** An empty column for `n` elements of spec `s`, stored as `storage` says. */
function newColumn(s: FeatureSpec, n: number, storage: FeatureStorage): Rows {
  if (s.dtype === 'i32') return new Int32Array(n);
  return storage === 'f16' ? new Uint16Array(n) : new Float32Array(n);
}

/** The storage of a column (f16 when it holds binary16 bits). */
function storageOf(column: Rows): FeatureStorage {
  return column instanceof Uint16Array ? 'f16' : 'f32';
}

/** f32 values → binary16 bits (round to nearest even). */
export function toF16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToF16Bits(values[i]!);
  return out;
}

/** `source`'s elements into `target` at `at`, converting between f32 and f16 storage if they differ. */
function copyRows(target: Rows, source: Rows, at: number): void {
  if (storageOf(target) === storageOf(source) || target instanceof Int32Array) target.set(source, at);
  else if (target instanceof Uint16Array) target.set(toF16Bits(source), at);
  else {
    const widen = f16Lookup();
    for (let k = 0; k < source.length; k++) target[at + k] = widen[source[k]!]!;
  }
}

/** `count` examples; one column of `count × rowSize` elements per spec. */
export class FeatureTable {
  constructor(
    readonly specs: readonly FeatureSpec[],
    readonly count: number,
    readonly columns: ReadonlyMap<string, Rows>,
  ) {
    for (const s of specs) {
      const c = columns.get(s.name);
      if (!c) throw new Error(`feature table: no column ${s.name}`);
      if (c.length !== count * s.rowSize) throw new Error(`feature table: column ${s.name} has ${c.length} elements, ${count} rows of ${s.rowSize} need ${count * s.rowSize}`);
    }
  }

  /** Host bytes the columns take. */
  get bytes(): number {
    let n = 0;
    for (const c of this.columns.values()) n += c.byteLength;
    return n;
  }

  /** f16 when any f32 feature is stored as binary16 bits. */
  get storage(): FeatureStorage {
    return [...this.columns.values()].some((c) => storageOf(c) === 'f16') ? 'f16' : 'f32';
  }

  /**
   * One batch of `batch` rows: the examples at `indices`, and after them repeats of the last one
   * (padding a final partial batch with real rows keeps every row finite; callers drop them).
   */
  gather(indices: readonly number[], batch: number): Record<string, Rows> {
    if (indices.length === 0 || indices.length > batch) throw new Error(`gather: ${indices.length} indices for a batch of ${batch}`);
    const out: Record<string, Rows> = {};
    for (const s of this.specs) {
      const column = this.columns.get(s.name)!;
      // The device reads f32: f16-stored rows are widened here.
      const rows = newColumn(s, batch * s.rowSize, 'f32');
      for (let r = 0; r < batch; r++) {
        const i = indices[Math.min(r, indices.length - 1)]!;
        if (i < 0 || i >= this.count) throw new Error(`gather: row ${i} is outside 0..${this.count - 1}`);
        copyRows(rows, column.subarray(i * s.rowSize, (i + 1) * s.rowSize), r * s.rowSize);
      }
      out[s.name] = rows;
    }
    return out;
  }

  /** The rows at `indices`, as a new table. */
  select(indices: readonly number[]): FeatureTable {
    const columns = new Map<string, Rows>();
    for (const s of this.specs) {
      const column = this.columns.get(s.name)!;
      const rows = newColumn(s, indices.length * s.rowSize, storageOf(column));
      indices.forEach((i, r) => rows.set(column.subarray(i * s.rowSize, (i + 1) * s.rowSize), r * s.rowSize));
      columns.set(s.name, rows);
    }
    return new FeatureTable(this.specs, indices.length, columns);
  }

  /**
   * A table whose row r is row `rows[r][1]` of the table `rows[r][0]` (each with these specs),
   * its f32 features stored as `storage` says.
   */
  static fromRows(specs: readonly FeatureSpec[], rows: readonly (readonly [FeatureTable, number])[], storage: FeatureStorage = 'f32'): FeatureTable {
    const columns = new Map<string, Rows>();
    for (const s of specs) {
      const out = newColumn(s, rows.length * s.rowSize, storage);
      rows.forEach(([table, i], r) => {
        const column = table.columns.get(s.name);
        if (!column || i < 0 || i >= table.count) throw new Error(`feature table: no row ${i} of column ${s.name}`);
        copyRows(out, column.subarray(i * s.rowSize, (i + 1) * s.rowSize), r * s.rowSize);
      });
      columns.set(s.name, out);
    }
    return new FeatureTable(specs, rows.length, columns);
  }

  /** One SHA-256 per row over all its columns: equal rows have equal digests. */
  rowDigests(): string[] {
    return Array.from({ length: this.count }, (_, i) => {
      const h = createHash('sha256');
      for (const s of this.specs) {
        const row = this.columns.get(s.name)!.subarray(i * s.rowSize, (i + 1) * s.rowSize);
        h.update(s.name).update(new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
      }
      return h.digest('hex');
    });
  }

  /** Saved with a SHA-256 of the columns in the metadata, so a load can tell a corrupt file. */
  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    const tensors = Object.fromEntries(
      this.specs.map((s) => {
        const data = this.columns.get(s.name)!;
        const dtype = s.dtype === 'i32' ? ('I32' as const) : storageOf(data) === 'f16' ? ('F16' as const) : ('F32' as const);
        return [s.name, { dtype, shape: [this.count, ...s.rowShape], data }];
      }),
    );
    await writeSafetensors(path, tensors, { ...metadata, count: String(this.count), [CHECKSUM]: columnsChecksum(this.specs, this.columns) });
  }

  /**
   * Loads a saved table if it exists and has exactly these specs and metadata; otherwise
   * undefined. A file that cannot be parsed or does not match its checksum is undefined too, and
   * `onCorrupt` says what is wrong with it (the caller recomputes it).
   */
  static async load(path: string, specs: readonly FeatureSpec[], metadata: Record<string, string> = {}, onCorrupt: (problem: string) => void = () => undefined): Promise<FeatureTable | undefined> {
    if (!existsSync(path)) return undefined;
    let file: Awaited<ReturnType<typeof readSafetensors>>;
    try {
      file = await readSafetensors(path);
    } catch (e) {
      onCorrupt(`${path} is unreadable (${(e as Error).message})`);
      return undefined;
    }
    for (const [k, v] of Object.entries(metadata)) if (file.metadata[k] !== v) return undefined;
    const count = Number(file.metadata.count);
    const columns = new Map<string, Rows>();
    for (const s of specs) {
      const t = file.tensors[s.name];
      if (!t || t.shape.join(',') !== [count, ...s.rowShape].join(',')) return undefined;
      // A column saved as F16 comes back as f16 bits (exact: every binary16 value is an f32).
      columns.set(s.name, s.dtype === 'i32' ? Int32Array.from(t.data as Int32Array) : t.dtype === 'F16' ? toF16Bits(t.data as Float32Array) : Float32Array.from(t.data as Float32Array));
    }
    const saved = file.metadata[CHECKSUM];
    if (saved === undefined) {
      onCorrupt(`${path} has no checksum (written by an older swaglet)`);
      return undefined;
    }
    if (saved !== columnsChecksum(specs, columns)) {
      onCorrupt(`${path} does not match its checksum`);
      return undefined;
    }
    return new FeatureTable(specs, count, columns);
  }
}

/** safetensors metadata key: SHA-256 of the columns' bytes, in spec order. */
const CHECKSUM = 'sha256';

function columnsChecksum(specs: readonly FeatureSpec[], columns: ReadonlyMap<string, Rows>): string {
  const h = createHash('sha256');
  for (const s of specs) {
    const c = columns.get(s.name)!;
    h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  }
  return h.digest('hex');
}

/** Per-batch progress: examples done, of total. */
export type Progress = (done: number, total: number) => void;

/** Features already computed, by the digest of their input row (`FeatureTable.rowDigests`). */
export type KnownFeatures = ReadonlyMap<string, readonly [FeatureTable, number]>;

/** The known features of the inputs `inputs` (whose rows became `features`, row for row). */
export function knownFeatures(inputs: FeatureTable, features: FeatureTable, into = new Map<string, readonly [FeatureTable, number]>()): Map<string, readonly [FeatureTable, number]> {
  if (inputs.count !== features.count) throw new Error(`known features: ${inputs.count} input rows, ${features.count} feature rows`);
  inputs.rowDigests().forEach((d, i) => into.set(d, [features, i]));
  return into;
}

/**
 * `computeFeatures`, but rows whose inputs are among `known` are copied rather than computed
 * (repeats of an experiment share examples). Returns the table and how many rows were copied.
 */
export async function computeFeaturesReusing(network: Network, data: FeatureTable, known: KnownFeatures, onProgress?: Progress, storage: FeatureStorage = 'f32'): Promise<{ table: FeatureTable; reused: number }> {
  const digests = data.rowDigests();
  const missing = digests.flatMap((d, i) => (known.has(d) ? [] : [i]));
  const computed = missing.length ? await computeFeatures(network, data.select(missing), onProgress, storage) : undefined;
  const at = new Map(missing.map((i, k) => [i, k]));
  const rows = digests.map((d, i) => known.get(d) ?? ([computed!, at.get(i)!] as const));
  return { table: FeatureTable.fromRows(network.hasPrefix ? network.features : data.specs, rows, storage), reused: data.count - missing.length };
}

/**
 * Runs the frozen prefix over every example once; the result is the suffix's per-example input,
 * its f32 features kept as `storage` says (f16 halves the host memory of a large cache).
 */
export async function computeFeatures(network: Network, data: FeatureTable, onProgress?: Progress, storage: FeatureStorage = 'f32'): Promise<FeatureTable> {
  if (!network.hasPrefix) return data;
  const columns = new Map<string, Rows>(network.features.map((s) => [s.name, newColumn(s, data.count * s.rowSize, storage)]));
  const b = network.batch;
  for (let start = 0; start < data.count; start += b) {
    const indices = Array.from({ length: Math.min(b, data.count - start) }, (_, k) => start + k);
    const out: Record<string, Tensor> = network.prefix(data.gather(indices, b));
    for (const s of network.features) {
      const rows = await network.device.read(out[s.name]!);
      copyRows(columns.get(s.name)!, rows.subarray(0, indices.length * s.rowSize) as Float32Array | Int32Array, start * s.rowSize);
    }
    onProgress?.(start + indices.length, data.count);
  }
  return new FeatureTable(network.features, data.count, columns);
}
