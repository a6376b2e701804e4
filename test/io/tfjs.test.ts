/**
 * The tfjs graph-model reader: weights cut across shards, every dtype and quantization tfjs
 * writes, clear errors for broken files, and the real USE-Lite model.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TfjsFormatError, halfToFloat, readTfjsGraphModel, readTfjsGraphModelSync } from '../../io/tfjs.ts';
import { useLiteModelJson } from '../../models/useLite.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-tfjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes model.json and the group's stream cut into shards of `shardBytes`; returns the model.json path. */
function writeModel(name: string, weights: object[], stream: Uint8Array, shardBytes: number, extraGroup?: object): string {
  const paths: string[] = [];
  for (let at = 0, i = 0; at < stream.length; at += shardBytes, i++) {
    const p = `${name}-shard${i + 1}`;
    writeFileSync(join(dir, p), stream.subarray(at, at + shardBytes));
    paths.push(p);
  }
  const manifest = [{ paths, weights }, ...(extraGroup ? [extraGroup] : [])];
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ modelTopology: { node: [{ name: 'x', op: 'Placeholder' }] }, weightsManifest: manifest }));
  return file;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('readTfjsGraphModel', () => {
  const kernel = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1);
  const ids = Int32Array.from([7, -3, 2 ** 30]);
  const flag = Uint8Array.from([1, 0]);
  const q8 = Uint8Array.from([0, 1, 255]);
  const q16 = Uint16Array.from([0, 2, 65535]);
  // float16: 1, -2, 0.5, a subnormal (2^-24), +Infinity
  const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00]);
  const weights = [
    { name: 'dense/kernel', shape: [2, 3], dtype: 'float32' },
    { name: 'ids', shape: [3], dtype: 'int32' },
    { name: 'flag', shape: [2], dtype: 'bool' },
    { name: 'q8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.01 } },
    { name: 'q16', shape: [3], dtype: 'float32', quantization: { dtype: 'uint16', min: 2, scale: 0.5 } },
    { name: 'half', shape: [5], dtype: 'float32', quantization: { dtype: 'float16' } },
  ];
  const stream = concat(bytes(kernel), bytes(ids), flag, q8, bytes(q16), bytes(f16));

  it('reads every weight of a group whose stream is cut across shards at odd bytes', async () => {
    const file = writeModel('tiny', weights, stream, 7);
    const model = await readTfjsGraphModel(file);
    expect(model.topology).toEqual({ node: [{ name: 'x', op: 'Placeholder' }] });
    expect([...model.weights.keys()]).toEqual(weights.map((w) => w.name));
    expect(model.weights.get('dense/kernel')).toEqual({ data: kernel, shape: [2, 3], dtype: 'float32' });
    expect(model.weights.get('ids')).toEqual({ data: ids, shape: [3], dtype: 'int32' });
    expect(model.weights.get('flag')).toEqual({ data: Int32Array.from([1, 0]), shape: [2], dtype: 'int32' });
    expect(Array.from(model.weights.get('q8')!.data)).toEqual(Array.from(Float32Array.from([-1, -0.99, 1.55])));
    expect(Array.from(model.weights.get('q16')!.data)).toEqual([2, 3, 2 + 65535 * 0.5]);
    expect(Array.from(model.weights.get('half')!.data)).toEqual([1, -2, 0.5, 2 ** -24, Infinity]);
    expect(readTfjsGraphModelSync(file).weights).toEqual(model.weights);
  });

  it('reads several groups, each from its own shards', async () => {
    const second = Float32Array.from([3, 4]);
    writeFileSync(join(dir, 'two-b'), bytes(second));
    const file = writeModel('two', weights, stream, 1000, { paths: ['two-b'], weights: [{ name: 'b', shape: [2], dtype: 'float32' }] });
    const model = await readTfjsGraphModel(file);
    expect(model.weights.size).toBe(7);
    expect(Array.from(model.weights.get('b')!.data)).toEqual([3, 4]);
  });

  it('names the missing shard', async () => {
    const file = writeModel('missing', weights, stream, 16);
    rmSync(join(dir, 'missing-shard2'));
    await expect(readTfjsGraphModel(file)).rejects.toThrow(/weight shard .*missing-shard2 cannot be read/);
    expect(() => readTfjsGraphModelSync(file)).toThrow(TfjsFormatError);
  });

  it('names the file and the weight when the shards are too short or too long', async () => {
    const short = writeModel('short', weights, stream.subarray(0, stream.length - 3), 1000);
    await expect(readTfjsGraphModel(short)).rejects.toThrow(/short\.json: shards short-shard1 hold 54 bytes, but weight half ends at byte 57/);
    const long = writeModel('long', weights, concat(stream, Uint8Array.from([0, 0])), 1000);
    await expect(readTfjsGraphModel(long)).rejects.toThrow(/long\.json: shards long-shard1 hold 59 bytes, but the manifest's weights take 57/);
  });

  it('refuses dtypes it cannot load, and files that are not a model', async () => {
    const str = writeModel('str', [{ name: 's', shape: [1], dtype: 'string' }], Uint8Array.from([1, 2, 3, 4]), 4);
    await expect(readTfjsGraphModel(str)).rejects.toThrow(/weight s has unsupported dtype string/);
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{ nope');
    await expect(readTfjsGraphModel(notJson)).rejects.toThrow(/bad\.json: not JSON/);
    const noManifest = join(dir, 'empty.json');
    writeFileSync(noManifest, '{}');
    await expect(readTfjsGraphModel(noManifest)).rejects.toThrow(/empty\.json: no weightsManifest/);
    await expect(readTfjsGraphModel(join(dir, 'absent.json'))).rejects.toThrow(/absent\.json: cannot read model\.json/);
  });

  it('converts float16 like the IEEE 754 definition, NaN included', () => {
    expect(Array.from(halfToFloat(Uint16Array.from([0x7bff, 0x8000, 0xfc00])))).toEqual([65504, -0, -Infinity]);
    expect(halfToFloat(Uint16Array.from([0x7e00]))[0]).toBeNaN();
  });

  it('reads the shipped USE-Lite model: 61 weights, about 7M floats', async () => {
    const model = await readTfjsGraphModel(useLiteModelJson());
    expect(model.weights.size).toBe(61);
    let floats = 0;
    for (const w of model.weights.values()) if (w.dtype === 'float32') floats += w.data.length;
    expect(floats).toBeGreaterThan(6.9e6);
    expect(floats).toBeLessThan(7.0e6);
    expect(model.weights.get('module/Embeddings_en')!.shape).toEqual([8002, 256]);
    expect(model.weights.get('module/Encoder_en/hidden_layers/tanh_layer_0/weights')!.shape).toEqual([512, 512]);
    const qkv = 'module/Encoder_en/KonaTransformer/Encode/Layer_1/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0';
    expect(model.weights.get(qkv)!.shape).toEqual([1, 1, 512, 1536]);
    const nodes = (model.topology as { node: { op: string }[] }).node;
    expect(nodes.filter((n) => n.op === 'Placeholder')).toHaveLength(2); // indices, values
  });
});
