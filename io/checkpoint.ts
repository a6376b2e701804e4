/**
 * Training checkpoints that a crash can never leave half-written for `--resume` to load.
 *
 * Layout of a checkpoint directory `<dir>`:
 *   step-<S>/            one complete checkpoint (step-<S>-<n>/ when step S is written again)
 *     <name>.safetensors   the tensors of file <name>
 *     <name>.json          the JSON value of file <name>
 *     manifest.json        written last: step, write sequence, and the size + SHA-256 of every file
 *   latest.json          {"step", "path": "step-<S>", "sequence"}: the checkpoint to resume from
 *   .tmp-*               work in progress or leftovers of a crash; readers ignore them
 *
 * Writing: everything goes into `.tmp-<S>/` (each file fsynced, via io/atomic.ts), the directory is fsynced
 * and renamed to `step-<S>/`, the parent fsynced, then latest.json is replaced atomically.  Only then are
 * checkpoints beyond the newest `keep` pruned (renamed to `.tmp-delete-*` first, so an interrupted delete
 * never leaves a half-deleted `step-*`).  At every instant latest.json therefore names a complete folder.
 *
 * Reading: latest.json's folder is verified against its manifest (sizes and hashes).  If it is missing or
 * corrupt, the newest other complete checkpoint is used and a warning says which; with none, an error.
 * A single writer per directory is assumed.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { syncDir, writeFileAtomic } from './atomic.ts';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from './safetensors.ts';

export interface CheckpointTensor {
  data: Float32Array | Int32Array | Uint32Array;
  shape: number[];
}

export interface CheckpointFile {
  /** Letters, digits, '_', '-', '.'; not starting with '.'; unique within a checkpoint. */
  name: string;
  tensors?: Record<string, CheckpointTensor>;
  json?: unknown;
}

/** Points in {@link writeCheckpoint} where a crash changes what is on disk (for crash-simulation tests). */
export type CheckpointWritePhase = 'files-written' | 'renamed' | 'latest-updated' | 'pruned';

export interface WriteCheckpointOptions {
  /** How many checkpoints to keep, the new one included; default 2. */
  keep?: number;
  /** Called after each phase; throwing stops the write there, as a crash would. */
  onPhase?: (phase: CheckpointWritePhase) => void | Promise<void>;
}

export interface ReadCheckpointOptions {
  /** Told when latest.json is unusable and another checkpoint is used instead. */
  onWarning?: (message: string) => void;
}

export interface CheckpointContents {
  json?: unknown;
  tensors?: Record<string, CheckpointTensor>;
}

export interface LoadedCheckpoint {
  step: number;
  /** Absolute path of the step folder. */
  path: string;
  /** The names of the files it holds. */
  names: string[];
  read(name: string): Promise<CheckpointContents>;
  /** The JSON of file `name`; throws if it has none. */
  json(name: string): Promise<unknown>;
  /** The tensors of file `name`; throws if it has none. */
  tensors(name: string): Promise<Record<string, CheckpointTensor>>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const MANIFEST = 'manifest.json';
const LATEST = 'latest.json';
const FORMAT = 'swaglet-checkpoint';
const VERSION = 1;
const STEP_DIR = /^step-(\d+)(?:-(\d+))?$/;
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
/** safetensors metadata key listing tensors stored as I32 bits that are really u32 (the format lib has no U32). */
const U32_METADATA = 'swaglet.u32';

interface ManifestEntry {
  name: string;
  file: string;
  bytes: number;
  sha256: string;
}

interface Manifest {
  format: typeof FORMAT;
  version: number;
  step: number;
  sequence: number;
  files: ManifestEntry[];
}

interface Candidate {
  folder: string;
  manifest: Manifest;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');


function encodeTensors(name: string, tensors: Record<string, CheckpointTensor>, source: string): Uint8Array {
  const inputs: Record<string, TensorInput> = {};
  const u32: string[] = [];
  for (const [key, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length) {
      throw new CheckpointError(`checkpoint file '${name}', tensor '${key}': shape [${t.shape.join(', ')}] has ${count} elements but data has ${t.data.length}`);
    }
    if (t.data instanceof Float32Array) inputs[key] = { dtype: 'F32', shape: t.shape, data: t.data };
    else if (t.data instanceof Int32Array) inputs[key] = { dtype: 'I32', shape: t.shape, data: t.data };
    else if (t.data instanceof Uint32Array) {
      inputs[key] = { dtype: 'I32', shape: t.shape, data: new Int32Array(t.data.buffer, t.data.byteOffset, t.data.length) };
      u32.push(key);
    } else throw new CheckpointError(`checkpoint file '${name}', tensor '${key}': data must be a Float32Array, Int32Array or Uint32Array`);
  }
  return encodeSafetensors(inputs, u32.length ? { [U32_METADATA]: JSON.stringify(u32.sort()) } : {}, source);
}

function checkFiles(files: CheckpointFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (typeof f.name !== 'string' || !NAME.test(f.name) || f.name === 'manifest') {
      throw new CheckpointError(`checkpoint file name ${JSON.stringify(f.name)} is not allowed (letters, digits, '_', '-', '.'; not 'manifest')`);
    }
    if (seen.has(f.name)) throw new CheckpointError(`checkpoint file name '${f.name}' is used twice`);
    seen.add(f.name);
    if (f.tensors === undefined && f.json === undefined) throw new CheckpointError(`checkpoint file '${f.name}' has neither tensors nor json`);
  }
}

async function readJsonFile(path: string): Promise<unknown> {
  return JSON.parse(await fsp.readFile(path, 'utf8'));
}

/**
 * The folder's manifest, or why it is not a usable checkpoint.  `hash`: also compare every file's SHA-256
 * (reading it whole); without it only sizes are checked.
 */
async function verifyFolder(dir: string, folder: string, hash = true): Promise<Manifest | string> {
  const path = nodePath.join(dir, folder);
  let m: Manifest;
  try {
    m = (await readJsonFile(nodePath.join(path, MANIFEST))) as Manifest;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      try {
        await fsp.access(path);
      } catch {
        return `${path} does not exist`;
      }
      return `${path} has no ${MANIFEST}`;
    }
    return `${path}/${MANIFEST} is unreadable: ${(err as Error).message}`;
  }
  if (m === null || typeof m !== 'object' || m.format !== FORMAT || m.version !== VERSION || !Array.isArray(m.files)) {
    return `${path}/${MANIFEST} is not a ${FORMAT} v${VERSION} manifest`;
  }
  const fromName = STEP_DIR.exec(folder);
  if (!fromName || Number(fromName[1]) !== m.step) return `${path}/${MANIFEST} says step ${m.step}, which does not match the folder name`;
  for (const e of m.files) {
    const file = nodePath.join(path, e.file);
    let size: number;
    try {
      size = (await fsp.stat(file)).size;
    } catch {
      return `${file} is missing`;
    }
    if (size !== e.bytes) return `${file} is ${size} bytes, expected ${e.bytes} (truncated?)`;
    if (hash && sha256(await fsp.readFile(file)) !== e.sha256) return `${file} does not match its checksum`;
  }
  return m;
}

async function listStepFolders(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && STEP_DIR.test(e.name)).map((e) => e.name);
}

/** Complete checkpoints (see {@link verifyFolder} for `hash`), newest write first. */
async function completeCheckpoints(dir: string, except?: string, hash = true): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const folder of await listStepFolders(dir)) {
    if (folder === except) continue;
    const m = await verifyFolder(dir, folder, hash);
    if (typeof m !== 'string') out.push({ folder, manifest: m });
  }
  return out.sort((a, b) => b.manifest.sequence - a.manifest.sequence || b.manifest.step - a.manifest.step);
}

/** The highest write sequence among manifests present (complete or not), so new checkpoints sort after them. */
async function lastSequence(dir: string): Promise<number> {
  let max = 0;
  for (const folder of await listStepFolders(dir)) {
    try {
      const m = (await readJsonFile(nodePath.join(dir, folder, MANIFEST))) as Partial<Manifest>;
      if (typeof m.sequence === 'number' && m.sequence > max) max = m.sequence;
    } catch {
      /* incomplete folder: no sequence */
    }
  }
  return max;
}

async function freeFolderName(dir: string, step: number): Promise<string> {
  const taken = new Set(await listStepFolders(dir));
  if (!taken.has(`step-${step}`)) return `step-${step}`;
  for (let n = 1; ; n++) if (!taken.has(`step-${step}-${n}`)) return `step-${step}-${n}`;
}

/**
 * Write a checkpoint for `step` into `dir` and make it the one to resume from.
 * Returns the absolute path of the new step folder.
 */
export async function writeCheckpoint(dir: string, step: number, files: CheckpointFile[], options: WriteCheckpointOptions = {}): Promise<string> {
  if (!Number.isSafeInteger(step) || step < 0) throw new CheckpointError(`checkpoint step must be a non-negative integer, got ${step}`);
  const keep = options.keep ?? 2;
  if (!Number.isSafeInteger(keep) || keep < 1) throw new CheckpointError(`keep must be a positive integer, got ${keep}`);
  checkFiles(files);
  const root = nodePath.resolve(dir);

  // 1. Encode everything (so bad input fails before the disk is touched), then write it into .tmp-<step>/,
  //    manifest last.
  const tmp = nodePath.join(root, `.tmp-${step}`);
  const parts: { name: string; file: string; bytes: Uint8Array }[] = [];
  for (const f of files) {
    if (f.tensors !== undefined) {
      const file = `${f.name}.safetensors`;
      parts.push({ name: f.name, file, bytes: encodeTensors(f.name, f.tensors, nodePath.join(tmp, file)) });
    }
    if (f.json !== undefined) {
      const text = JSON.stringify(f.json);
      if (text === undefined) throw new CheckpointError(`checkpoint file '${f.name}': json is not JSON-serializable`);
      parts.push({ name: f.name, file: `${f.name}.json`, bytes: new TextEncoder().encode(text) });
    }
  }
  await fsp.mkdir(root, { recursive: true });
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp);
  const entries: ManifestEntry[] = [];
  for (const { name, file, bytes } of parts) {
    await writeFileAtomic(nodePath.join(tmp, file), bytes); // fsyncs the file and tmp/
    entries.push({ name, file, bytes: bytes.length, sha256: sha256(bytes) });
  }
  const sequence = (await lastSequence(root)) + 1;
  const manifest: Manifest = { format: FORMAT, version: VERSION, step, sequence, files: entries };
  await writeFileAtomic(nodePath.join(tmp, MANIFEST), JSON.stringify(manifest, null, 1));
  await options.onPhase?.('files-written');

  // 2. Publish the folder under its final name.
  const folder = await freeFolderName(root, step);
  const finalPath = nodePath.join(root, folder);
  await fsp.rename(tmp, finalPath);
  await syncDir(root);
  await options.onPhase?.('renamed');

  // 3. Point latest.json at it (atomic replace + directory fsync).
  await writeFileAtomic(nodePath.join(root, LATEST), JSON.stringify({ step, path: folder, sequence }) + '\n');
  await options.onPhase?.('latest-updated');

  // 4. Prune: only now may older checkpoints go.  Never the new one (it has the highest sequence).
  const complete = await completeCheckpoints(root, undefined, false); // sizes suffice to rank them
  for (const old of complete.slice(keep)) {
    if (old.folder === folder) continue;
    const doomed = nodePath.join(root, `.tmp-delete-${old.folder}-${randomBytes(4).toString('hex')}`);
    await fsp.rename(nodePath.join(root, old.folder), doomed);
    await fsp.rm(doomed, { recursive: true, force: true });
  }
  // Leftovers of earlier crashes (never the folder just published: it no longer has a .tmp- name).
  for (const e of await fsp.readdir(root)) {
    if (e.startsWith('.tmp-')) await fsp.rm(nodePath.join(root, e), { recursive: true, force: true });
  }
  await syncDir(root);
  await options.onPhase?.('pruned');
  return finalPath;
}

function openCheckpoint(root: string, c: Candidate): LoadedCheckpoint {
  const path = nodePath.join(root, c.folder);
  const names = [...new Set(c.manifest.files.map((e) => e.name))];
  const load = async (e: ManifestEntry): Promise<Uint8Array> => {
    const buf = await fsp.readFile(nodePath.join(path, e.file));
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    if (bytes.length !== e.bytes || sha256(bytes) !== e.sha256) throw new CheckpointError(`${path}/${e.file} changed since the checkpoint was written`);
    return bytes;
  };
  const read = async (name: string): Promise<CheckpointContents> => {
    const mine = c.manifest.files.filter((e) => e.name === name);
    if (!mine.length) throw new CheckpointError(`checkpoint ${path} has no file '${name}' (it has: ${names.join(', ')})`);
    const out: CheckpointContents = {};
    for (const e of mine) {
      const bytes = await load(e);
      if (e.file.endsWith('.json')) out.json = JSON.parse(new TextDecoder().decode(bytes));
      else {
        const decoded = decodeSafetensors(bytes, { source: nodePath.join(path, e.file) });
        const u32 = new Set<string>(decoded.metadata[U32_METADATA] ? (JSON.parse(decoded.metadata[U32_METADATA]) as string[]) : []);
        const tensors: Record<string, CheckpointTensor> = {};
        for (const [key, t] of Object.entries(decoded.tensors)) {
          if (t.dtype !== 'F32' && t.dtype !== 'I32') throw new CheckpointError(`${path}/${e.file}: tensor '${key}' has dtype ${t.dtype}, expected F32 or I32`);
          const data = t.data as Float32Array | Int32Array;
          // defineProperty: tensor names such as '__proto__' stay plain keys.
          Object.defineProperty(tensors, key, {
            value: { data: u32.has(key) ? new Uint32Array(data.buffer, data.byteOffset, data.length) : data, shape: t.shape },
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        out.tensors = tensors;
      }
    }
    return out;
  };
  return {
    step: c.manifest.step,
    path,
    names,
    read,
    async json(name) {
      const r = await read(name);
      if (r.json === undefined) throw new CheckpointError(`checkpoint file '${name}' in ${path} holds no JSON`);
      return r.json;
    },
    async tensors(name) {
      const r = await read(name);
      if (r.tensors === undefined) throw new CheckpointError(`checkpoint file '${name}' in ${path} holds no tensors`);
      return r.tensors;
    },
  };
}

/** latest.json's content, or what is wrong with it. */
async function readPointer(latestPath: string): Promise<{ step: number; path: string } | string> {
  let value: unknown;
  try {
    value = await readJsonFile(latestPath);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${latestPath} is missing` : `${latestPath} is unreadable: ${(err as Error).message}`;
  }
  const v = value as { step?: unknown; path?: unknown } | null;
  if (!v || typeof v.path !== 'string' || !STEP_DIR.test(v.path) || typeof v.step !== 'number') return `${latestPath} does not name a step folder`;
  return { step: v.step, path: v.path };
}

/**
 * The checkpoint to resume from, or undefined when `dir` holds none.  Throws {@link CheckpointError} when
 * latest.json names a missing or corrupt checkpoint and no other complete checkpoint exists.
 */
export async function readLatestCheckpoint(dir: string, options: ReadCheckpointOptions = {}): Promise<LoadedCheckpoint | undefined> {
  const root = nodePath.resolve(dir);
  const warn = options.onWarning ?? (() => undefined);
  try {
    if (!(await fsp.stat(root)).isDirectory()) throw new CheckpointError(`${root} is not a directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }

  const latestPath = nodePath.join(root, LATEST);
  const latest = await readPointer(latestPath);
  let problem: string;
  let pointed: string | undefined;
  if (typeof latest === 'string') problem = latest;
  else {
    pointed = latest.path;
    const m = await verifyFolder(root, pointed);
    if (typeof m !== 'string') return openCheckpoint(root, { folder: pointed, manifest: m });
    problem = `${latestPath} points at step ${latest.step}, but ${m}`;
  }

  const others = await completeCheckpoints(root, pointed);
  if (others.length === 0) {
    if (pointed === undefined && (await listStepFolders(root)).length === 0) return undefined; // nothing was ever committed
    throw new CheckpointError(`no usable checkpoint in ${root}: ${problem}, and no other complete checkpoint exists`);
  }
  const fallback = others[0]!;
  warn(`${problem}; resuming from ${nodePath.join(root, fallback.folder)} (step ${fallback.manifest.step}) instead`);
  return openCheckpoint(root, fallback);
}
