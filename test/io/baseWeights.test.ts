import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseWeightsError, type BaseWeightsOptions, loadBaseWeights } from '../../io/baseWeights.ts';
import { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits, writeSafetensors, type SafetensorsDtype } from '../../io/safetensors.ts';
import { rng as mulberry32 } from '../helpers/random.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swaglet-base-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Random values, seeded, in (-2, 2). */
function values(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rand() * 4 - 2) * (rand() < 0.1 ? 1e-3 : 1));
}

const count = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

async function write(name: string, tensors: Record<string, { shape: number[]; data: Float32Array; dtype?: SafetensorsDtype }>): Promise<string> {
  const path = join(dir, name);
  await writeSafetensors(path, Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { dtype: t.dtype ?? 'F32', shape: t.shape, data: t.data }])));
  return path;
}

async function expectBaseError(options: BaseWeightsOptions): Promise<BaseWeightsError> {
  try {
    await loadBaseWeights(options);
  } catch (e) {
    expect(e).toBeInstanceOf(BaseWeightsError);
    return e as BaseWeightsError;
  }
  throw new Error('expected a BaseWeightsError');
}

describe('loadBaseWeights', () => {
  it('loads a single file whose names are the .swag paths, exactly, in the order expected lists them', async () => {
    const a = values(6, 1);
    const b = values(4, 2);
    const path = await write('single.safetensors', { 'l.W': { shape: [2, 3], data: a }, 'norm.g': { shape: [4], data: b } });
    const got = await loadBaseWeights({ files: path, expected: new Map([['norm.g', [4]], ['l.W', [2, 3]]]) });
    expect([...got.keys()]).toEqual(['norm.g', 'l.W']);
    expect(got.get('l.W')).toEqual(a);
    expect(got.get('norm.g')).toEqual(b);
    // Each tensor owns its memory (not a view into a whole-file buffer).
    expect(got.get('l.W')!.buffer.byteLength).toBe(6 * 4);
  });

  it('loads a list of files and a sharded checkpoint through its index', async () => {
    const w0 = values(12, 3);
    const w1 = values(12, 4);
    const e = values(10, 5);
    const s1 = await write('model-00001-of-00002.safetensors', { 'h.0.W': { shape: [3, 4], data: w0 }, emb: { shape: [5, 2], data: e } });
    const s2 = await write('model-00002-of-00002.safetensors', { 'h.1.W': { shape: [3, 4], data: w1 } });
    const expected = new Map([['h.0.W', [3, 4]], ['h.1.W', [3, 4]], ['emb', [5, 2]]]);
    const fromList = await loadBaseWeights({ files: [s1, s2], expected });
    const index = join(dir, 'model.safetensors.index.json');
    await writeFile(
      index,
      JSON.stringify({
        metadata: { total_size: (24 + 10) * 4 },
        weight_map: { 'h.0.W': 'model-00001-of-00002.safetensors', emb: 'model-00001-of-00002.safetensors', 'h.1.W': 'model-00002-of-00002.safetensors' },
      }),
    );
    const fromIndex = await loadBaseWeights({ files: index, expected });
    for (const got of [fromList, fromIndex]) {
      expect(got.get('h.0.W')).toEqual(w0);
      expect(got.get('h.1.W')).toEqual(w1);
      expect(got.get('emb')).toEqual(e);
    }
  });

  it('converts F16, BF16 and F64 to f32 exactly as the reference roundings give', async () => {
    const v = values(64, 6);
    v[0] = 2 ** -24; // smallest f16 subnormal
    v[1] = 65504; // largest f16
    v[2] = -0;
    const path = join(dir, 'halves.safetensors');
    await writeSafetensors(path, {
      h: { dtype: 'F16', shape: [8, 8], data: v },
      b: { dtype: 'BF16', shape: [64], data: v },
      d: { dtype: 'F64', shape: [2, 32], data: Float64Array.from(v, (x) => x + 1e-12) },
    });
    const got = await loadBaseWeights({ files: path, expected: new Map([['h', [8, 8]], ['b', [64]], ['d', [2, 32]]]) });
    expect(got.get('h')).toEqual(Float32Array.from(v, (x) => f16BitsToNumber(numberToF16Bits(x))));
    expect(got.get('b')).toEqual(Float32Array.from(v, (x) => bf16BitsToNumber(numberToBf16Bits(x))));
    expect(got.get('d')).toEqual(Float32Array.from(v, (x) => Math.fround(x + 1e-12)));
    expect(Object.is(got.get('h')![2], -0)).toBe(true);
  });

  it('splits and transposes a GPT-2 style fused c_attn Conv1D into q, k, v; drops lm_head on purpose', async () => {
    const nIn = 3;
    const nOut = 4;
    const layers = [0, 1];
    const tensors: Record<string, { shape: number[]; data: Float32Array; dtype?: SafetensorsDtype }> = {};
    for (const i of layers) {
      // Conv1D stores [in, 3·out]: y = x @ weight + bias.
      tensors[`h.${i}.attn.c_attn.weight`] = { shape: [nIn, 3 * nOut], data: values(nIn * 3 * nOut, 10 + i), dtype: 'BF16' };
      tensors[`h.${i}.attn.c_attn.bias`] = { shape: [3 * nOut], data: values(3 * nOut, 20 + i) };
    }
    tensors['lm_head.weight'] = { shape: [7, nIn], data: values(7 * nIn, 30) };
    const path = await write('gpt2.safetensors', tensors);
    const heads = ['q', 'k', 'v'];
    const rename = {
      'h.{i}.attn.c_attn.weight': heads.map((h, j) => ({ to: `layers.{i}.${h}.W`, slice: { axis: 1, start: j * nOut, size: nOut }, transpose: true })),
      'h.{i}.attn.c_attn.bias': heads.map((h, j) => ({ to: `layers.{i}.${h}.b`, slice: { axis: 0, start: j * nOut, size: nOut } })),
      'lm_head.weight': [],
    };
    const expected = new Map<string, number[]>();
    for (const i of layers) for (const h of heads) expected.set(`layers.${i}.${h}.W`, [nOut, nIn]).set(`layers.${i}.${h}.b`, [nOut]);
    const got = await loadBaseWeights({ files: [path], rename, expected });
    for (const i of layers) {
      const w = tensors[`h.${i}.attn.c_attn.weight`]!.data.map((x) => bf16BitsToNumber(numberToBf16Bits(x)));
      const bias = tensors[`h.${i}.attn.c_attn.bias`]!.data;
      heads.forEach((h, j) => {
        // Plain reference: W[o][c] = weight[c][j·out + o] (a linear layer's [out, in]).
        const want = new Float32Array(nOut * nIn);
        for (let o = 0; o < nOut; o++) for (let c = 0; c < nIn; c++) want[o * nIn + c] = w[c * 3 * nOut + j * nOut + o]!;
        expect(got.get(`layers.${i}.${h}.W`)).toEqual(want);
        expect(got.get(`layers.${i}.${h}.b`)).toEqual(bias.slice(j * nOut, (j + 1) * nOut));
      });
    }
    expect(got.size).toBe(expected.size);
  });

  it('slices along a middle axis of a 3-D tensor, and gives two plain targets of one tensor separate arrays', async () => {
    const data = values(2 * 5 * 3, 40);
    const path = await write('three.safetensors', { t: { shape: [2, 5, 3], data } });
    const got = await loadBaseWeights({
      files: path,
      rename: { t: [{ to: 'mid', slice: { axis: 1, start: 1, size: 2 } }, 'copyA', 'copyB'] },
      expected: new Map([['mid', [2, 2, 3]], ['copyA', [2, 5, 3]], ['copyB', [2, 5, 3]]]),
    });
    const want: number[] = [];
    for (let a = 0; a < 2; a++) for (let b = 1; b < 3; b++) for (let c = 0; c < 3; c++) want.push(data[a * 15 + b * 3 + c]!);
    expect(got.get('mid')).toEqual(Float32Array.from(want));
    expect(got.get('copyA')).toEqual(data);
    expect(got.get('copyB')).toEqual(data);
    expect(got.get('copyA')).not.toBe(got.get('copyB'));
  });

  it('lists every missing name, unused name and shape mismatch (both shapes) in one error', async () => {
    const path = await write('wrong.safetensors', {
      'a.W': { shape: [2, 3], data: values(6, 50) },
      'b.W': { shape: [4, 4], data: values(16, 51) },
      extra1: { shape: [1], data: values(1, 52) },
      'h.0.c_fc.weight': { shape: [3, 2], data: values(6, 53) },
    });
    const e = await expectBaseError({
      files: path,
      rename: { 'h.{i}.c_fc.weight': { to: 'layers.{i}.fc.W', transpose: true } },
      expected: new Map([['a.W', [2, 3]], ['b.W', [4, 5]], ['c.W', [1, 2]], ['d.W', [3]], ['layers.0.fc.W', [3, 2]]]),
    });
    expect(e.missing).toEqual(['c.W', 'd.W']);
    expect(e.unused).toEqual(['extra1']);
    expect(e.mismatches).toEqual([
      { target: 'b.W', expected: [4, 5], actual: [4, 4], source: 'b.W' },
      { target: 'layers.0.fc.W', expected: [3, 2], actual: [2, 3], source: 'h.0.c_fc.weight' },
    ]);
    expect(e.message).toContain('wrong.safetensors');
    expect(e.message).toMatch(/missing \(2[^]*c\.W \[1, 2\][^]*d\.W \[3\]/);
    expect(e.message).toMatch(/unused \(1[^]*extra1/);
    expect(e.message).toContain('b.W: the finetune needs [4, 5], the checkpoint gives [4, 4]');
    expect(e.message).toContain("layers.0.fc.W: the finetune needs [3, 2], the checkpoint gives [2, 3] (from 'h.0.c_fc.weight')");
  });

  it('reports a bad rename table, bad slices and transposes, duplicates and non-float tensors together', async () => {
    const path = await write('misc.safetensors', {
      'x.weight': { shape: [2, 3], data: values(6, 60) },
      'y.weight': { shape: [2, 3], data: values(6, 61) },
      'z.bias': { shape: [3], data: values(3, 62) },
      'layer.0.w': { shape: [2], data: values(2, 63) },
      idx: { shape: [2], data: Float32Array.from([1, 2]), dtype: 'I32' },
    });
    const e = await expectBaseError({
      files: path,
      rename: {
        'x.weight': { to: 'same', slice: { axis: 2, start: 0, size: 1 } },
        'y.weight': ['same', { to: 'other', slice: { axis: 1, start: 2, size: 2 } }],
        'z.bias': { to: 'zz', transpose: true },
        'layer.{i}.w': 'L.{j}',
        'bad{': 'x',
        'q.{a}': { to: 'q', slice: { axis: -1, start: 0, size: 1 } },
        '{p}.0.w': 'never',
        idx: 'idx',
      },
      expected: new Map([['same', [2, 3]], ['other', [2, 2]], ['zz', [3]], ['idx', [2]]]),
    });
    const text = e.problems.join('\n');
    expect(text).toContain("rename 'layer.{i}.w': target 'L.{j}' uses {j}, which the pattern does not capture");
    expect(text).toContain("rename 'bad{': a capture is '{name}'");
    expect(text).toContain("rename 'q.{a}': target 'q': slice must be { axis, start, size }");
    expect(text).toContain("'x.weight' -> 'same': slice axis 2 is out of range for a 2-D tensor [2, 3]");
    expect(text).toContain("'y.weight' -> 'other': slice [2, 4) of axis 1 runs past its size 3");
    expect(text).toContain("'z.bias' -> 'zz': transpose needs a 2-D tensor, got [3]");
    expect(text).toMatch(/'idx' in .*misc\.safetensors is I32, not a floating-point dtype/);
    expect(e.missing).toEqual(['idx', 'other', 'zz']);
    expect(e.message).toContain('other problems');
  });

  it('reports a target given twice, a target the finetune lacks, and two patterns matching one name', async () => {
    const path = await write('dup.safetensors', {
      'a.0.w': { shape: [2], data: values(2, 70) },
      'b.w': { shape: [2], data: values(2, 71) },
      'c.w': { shape: [2], data: values(2, 72) },
    });
    const e = await expectBaseError({
      files: path,
      rename: { 'a.{i}.w': 'A', '{x}.0.w': 'B', 'b.w': 'C', 'c.w': 'C' },
      expected: new Map([['C', [2]]]),
    });
    expect(e.problems).toContain("'a.0.w' matches several rename patterns: 'a.{i}.w', '{x}.0.w'");
    expect(e.problems).toContain("'C' is given twice: by 'b.w' and by 'c.w'");
    const e2 = await expectBaseError({ files: path, rename: { 'a.0.w': 'nowhere', 'b.w': [], 'c.w': [] }, expected: new Map() });
    expect(e2.problems).toEqual(["'a.0.w' maps to 'nowhere', which is not a frozen tensor of the finetune"]);
  });

  it('names unreadable files, bad indexes, shards lacking a tensor and a tensor in two files', async () => {
    const one = await write('one.safetensors', { t: { shape: [1], data: values(1, 80) } });
    const two = await write('two.safetensors', { t: { shape: [1], data: values(1, 81) } });
    const garbage = join(dir, 'garbage.safetensors');
    await writeFile(garbage, 'not a safetensors file at all');
    const badIndex = join(dir, 'bad.index.json');
    await writeFile(badIndex, JSON.stringify({ weight_map: { t: 'one.safetensors', u: 'one.safetensors', v: 'absent.safetensors' } }));
    const noMap = join(dir, 'nomap.index.json');
    await writeFile(noMap, '{"metadata": {}}');
    const e = await expectBaseError({
      files: [one, two, garbage, join(dir, 'nothere.safetensors'), badIndex, noMap, join(dir, 'broken.json')],
      expected: new Map([['t', [1]]]),
    });
    const text = e.problems.join('\n');
    expect(text).toMatch(/tensor 't' is in both .*one\.safetensors and .*two\.safetensors/);
    expect(text).toMatch(/garbage\.safetensors: header length \d+ runs beyond the end of the file/);
    expect(text).toMatch(/nothere\.safetensors: no such file/);
    expect(text).toMatch(/bad\.index\.json: weight_map puts 'u' in one\.safetensors, which has no such tensor/);
    expect(text).toMatch(/absent\.safetensors: no such file/);
    expect(text).toMatch(/nomap\.index\.json: a sharded checkpoint's index needs a "weight_map" object/);
    expect(text).toMatch(/broken\.json: no such file/);
    expect((await expectBaseError({ files: [], expected: new Map() })).problems).toEqual(['no checkpoint files given']);
  });
});
