/**
 * TensorFlow.js graph-model reader (`model.json` + binary weight shards), plain file I/O.
 *
 * `model.json` holds `modelTopology` (the GraphDef as JSON) and `weightsManifest`: a list of
 * groups, each with `paths` (shard files, relative to model.json) and `weights` (name, shape,
 * dtype, optional `quantization`). A group's shards are one byte stream cut into files; its
 * weights lie in that stream back to back, in manifest order. Quantized weights (uint8/uint16
 * with `min`/`scale`, or float16) are dequantized to float32 here, as tfjs does on load.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface TfjsWeight {
  data: Float32Array | Int32Array;
  shape: number[];
  /** The dtype after loading: 'float32' or 'int32' ('bool' weights load as int32 0/1). */
  dtype: string;
}

export interface TfjsGraphModel {
  /** `modelTopology` as stored (the graph's nodes, for inspection). */
  topology: unknown;
  weights: Map<string, TfjsWeight>;
}

/** A model.json or one of its shards is missing, malformed or of the wrong size. */
export class TfjsFormatError extends Error {
  override name = 'TfjsFormatError';
}

interface Quantization {
  dtype: string;
  min?: number;
  scale?: number;
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: Quantization;
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

const STORED_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Reads a tfjs graph model: its topology and every weight of every manifest group. */
export async function readTfjsGraphModel(modelJsonPath: string): Promise<TfjsGraphModel> {
  const json = parseModelJson(modelJsonPath, await readText(modelJsonPath));
  const shards = new Map<string, Uint8Array | Error>();
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const file = join(dirname(modelJsonPath), p);
      shards.set(file, await readFile(file).catch((e: Error) => e));
    }
  }
  return decodeModel(modelJsonPath, json, (file) => shards.get(file) ?? new Error('not listed'));
}

/** The same, synchronously (for loaders that run once at start-up). */
export function readTfjsGraphModelSync(modelJsonPath: string): TfjsGraphModel {
  let text: string;
  try {
    text = readFileSync(modelJsonPath, 'utf8');
  } catch (e) {
    throw new TfjsFormatError(`${modelJsonPath}: cannot read model.json: ${(e as Error).message}`);
  }
  const json = parseModelJson(modelJsonPath, text);
  return decodeModel(modelJsonPath, json, (file) => {
    try {
      return readFileSync(file);
    } catch (e) {
      return e as Error;
    }
  });
}

interface ModelJson {
  modelTopology?: unknown;
  weightsManifest: ManifestGroup[];
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new TfjsFormatError(`${path}: cannot read model.json: ${(e as Error).message}`);
  }
}

function parseModelJson(path: string, text: string): ModelJson {
  let json: { modelTopology?: unknown; weightsManifest?: unknown };
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TfjsFormatError(`${path}: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(json.weightsManifest)) throw new TfjsFormatError(`${path}: no weightsManifest`);
  return json as ModelJson;
}

function decodeModel(modelJsonPath: string, json: ModelJson, shard: (file: string) => Uint8Array | Error): TfjsGraphModel {
  const dir = dirname(modelJsonPath);
  const weights = new Map<string, TfjsWeight>();
  for (const group of json.weightsManifest) {
    const bytes = concatShards(group.paths.map((p) => join(dir, p)), shard);
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const stored = w.quantization?.dtype ?? w.dtype;
      const size = STORED_BYTES[stored];
      if (size === undefined) throw new TfjsFormatError(`${modelJsonPath}: weight ${w.name} has unsupported dtype ${stored}`);
      const end = offset + count * size;
      if (end > bytes.byteLength) {
        throw new TfjsFormatError(
          `${modelJsonPath}: shards ${group.paths.join(', ')} hold ${bytes.byteLength} bytes, but weight ${w.name} ends at byte ${end}`,
        );
      }
      weights.set(w.name, decode(w, bytes.subarray(offset, end), modelJsonPath));
      offset = end;
    }
    if (offset !== bytes.byteLength) {
      throw new TfjsFormatError(
        `${modelJsonPath}: shards ${group.paths.join(', ')} hold ${bytes.byteLength} bytes, but the manifest's weights take ${offset}`,
      );
    }
  }
  return { topology: json.modelTopology, weights };
}

function concatShards(files: string[], shard: (file: string) => Uint8Array | Error): Uint8Array {
  const parts = files.map((file) => {
    const got = shard(file);
    if (got instanceof Error) throw new TfjsFormatError(`weight shard ${file} cannot be read: ${got.message}`);
    return got;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function decode(w: ManifestWeight, raw: Uint8Array, where: string): TfjsWeight {
  // Copy to an aligned buffer: a weight may start at any byte of the stream.
  const buf = raw.slice().buffer;
  const shape = [...w.shape];
  const q = w.quantization;
  if (q) {
    if (w.dtype !== 'float32') throw new TfjsFormatError(`${where}: weight ${w.name}: quantized ${w.dtype} is not supported (only float32)`);
    if (q.dtype === 'float16') return { data: halfToFloat(new Uint16Array(buf)), shape, dtype: 'float32' };
    if (q.min === undefined || q.scale === undefined) throw new TfjsFormatError(`${where}: weight ${w.name}: ${q.dtype} quantization without min/scale`);
    const ints = q.dtype === 'uint8' ? new Uint8Array(buf) : new Uint16Array(buf);
    const data = new Float32Array(ints.length);
    for (let i = 0; i < ints.length; i++) data[i] = ints[i]! * q.scale + q.min;
    return { data, shape, dtype: 'float32' };
  }
  if (w.dtype === 'float32') return { data: new Float32Array(buf), shape, dtype: 'float32' };
  if (w.dtype === 'int32') return { data: new Int32Array(buf), shape, dtype: 'int32' };
  if (w.dtype === 'bool') return { data: Int32Array.from(new Uint8Array(buf)), shape, dtype: 'int32' };
  throw new TfjsFormatError(`${where}: weight ${w.name} has unsupported dtype ${w.dtype}`);
}

/** IEEE 754 binary16 → binary32, including subnormals, infinities and NaN. */
export function halfToFloat(half: Uint16Array): Float32Array {
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) {
    const h = half[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}
