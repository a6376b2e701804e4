import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loraScaling, PeftFormatError, readPeftAdapter, writePeftAdapter, type PeftAdapter } from '../../io/peft.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swaglet-peft-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Float32-representable values 0.5·(seed + i) − 3, so comparisons can be exact. */
function ramp(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 0.5 * (seed + i) - 3);
}

/** Parse a safetensors header independently of io/safetensors.ts. */
async function rawHeader(path: string): Promise<Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>> {
  const bytes = await readFile(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
}

function adapterWithTwoRanks(): PeftAdapter {
  return {
    baseModel: 'bert-base-uncased',
    taskType: 'SEQ_CLS',
    dropout: 0.1,
    useRslora: true,
    modules: [
      { module: 'encoder.layer.0.attention.self.query', r: 4, inFeatures: 6, outFeatures: 5, alpha: 16, A: ramp(24, 1), B: ramp(20, 2) },
      { module: 'encoder.layer.0.attention.self.value', r: 4, inFeatures: 6, outFeatures: 5, alpha: 16, A: ramp(24, 3), B: ramp(20, 4) },
      { module: 'encoder.layer.1.output.dense', r: 2, inFeatures: 6, outFeatures: 3, alpha: 8, A: ramp(12, 5), B: ramp(6, 6) },
    ],
    modulesToSave: [{ module: 'classifier', tensors: { weight: { data: ramp(10, 7), shape: [2, 5] }, bias: { data: ramp(2, 8), shape: [2] } } }],
  };
}

describe('writePeftAdapter', () => {
  it('writes the two files PEFT loads, with its key names, shapes, and safetensors metadata', async () => {
    await writePeftAdapter(dir, adapterWithTwoRanks());
    expect((await readdir(dir)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const header = await rawHeader(join(dir, 'adapter_model.safetensors'));
    expect(header.__metadata__).toEqual({ format: 'pt' });
    const shapes = Object.fromEntries(
      Object.entries(header)
        .filter(([k]) => k !== '__metadata__')
        .map(([k, v]) => [k, [(v as { dtype: string }).dtype, (v as { shape: number[] }).shape]]),
    );
    // Key layout from huggingface/peft docs/source/developer_guides/checkpoint.md and
    // get_peft_model_state_dict in src/peft/utils/save_and_load.py (adapter name stripped).
    expect(shapes).toEqual({
      'base_model.model.encoder.layer.0.attention.self.query.lora_A.weight': ['F32', [4, 6]],
      'base_model.model.encoder.layer.0.attention.self.query.lora_B.weight': ['F32', [5, 4]],
      'base_model.model.encoder.layer.0.attention.self.value.lora_A.weight': ['F32', [4, 6]],
      'base_model.model.encoder.layer.0.attention.self.value.lora_B.weight': ['F32', [5, 4]],
      'base_model.model.encoder.layer.1.output.dense.lora_A.weight': ['F32', [2, 6]],
      'base_model.model.encoder.layer.1.output.dense.lora_B.weight': ['F32', [3, 2]],
      'base_model.model.classifier.weight': ['F32', [2, 5]],
      'base_model.model.classifier.bias': ['F32', [2]],
    });

    const text = await readFile(join(dir, 'adapter_config.json'), 'utf8');
    const config = JSON.parse(text);
    expect(Object.keys(config)).toEqual(Object.keys(config).sort()); // sort_keys=True, like PEFT
    expect(config).toEqual({
      alpha_pattern: { 'encoder.layer.1.output.dense': 8 },
      base_model_name_or_path: 'bert-base-uncased',
      bias: 'none',
      fan_in_fan_out: false,
      inference_mode: true,
      init_lora_weights: true,
      lora_alpha: 16,
      lora_dropout: 0.1,
      modules_to_save: ['classifier'],
      peft_type: 'LORA',
      r: 4,
      rank_pattern: { 'encoder.layer.1.output.dense': 2 },
      revision: null,
      target_modules: ['encoder.layer.0.attention.self.query', 'encoder.layer.0.attention.self.value', 'encoder.layer.1.output.dense'],
      task_type: 'SEQ_CLS',
      use_dora: false,
      use_rslora: true,
    });
  });

  it('round-trips every tensor, rank, alpha and flag through readPeftAdapter', async () => {
    const original = adapterWithTwoRanks();
    await writePeftAdapter(dir, original);
    const back = await readPeftAdapter(dir);
    expect(back.baseModel).toBe('bert-base-uncased');
    expect(back.taskType).toBe('SEQ_CLS');
    expect(back.dropout).toBeCloseTo(0.1, 12);
    expect(back.useRslora).toBe(true);
    expect(back.useDora).toBe(false);
    const byName = new Map(back.modules.map((m) => [m.module, m]));
    expect(byName.size).toBe(3);
    for (const m of original.modules) {
      const got = byName.get(m.module)!;
      expect({ r: got.r, alpha: got.alpha, in: got.inFeatures, out: got.outFeatures }).toEqual({ r: m.r, alpha: m.alpha, in: m.inFeatures, out: m.outFeatures });
      expect(got.A).toEqual(m.A);
      expect(got.B).toEqual(m.B);
      expect(got.magnitude).toBeUndefined();
    }
    expect(back.modulesToSave).toEqual(original.modulesToSave);
    expect(loraScaling(byName.get('encoder.layer.1.output.dense')!, back.useRslora)).toBeCloseTo(8 / Math.SQRT2, 12);
  });

  it('saves DoRA magnitudes under lora_magnitude_vector (no ".weight", as PEFT renames them) and reads them back', async () => {
    const magnitude = ramp(3, 9);
    const adapter: PeftAdapter = {
      baseModel: null,
      modules: [{ module: 'fc1', r: 2, inFeatures: 4, outFeatures: 3, alpha: 4, A: ramp(8, 1), B: ramp(6, 2), magnitude }],
    };
    await writePeftAdapter(dir, adapter);
    const header = await rawHeader(join(dir, 'adapter_model.safetensors'));
    expect(header['base_model.model.fc1.lora_magnitude_vector']).toMatchObject({ dtype: 'F32', shape: [3] });
    expect(JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')).use_dora).toBe(true);
    const back = await readPeftAdapter(dir);
    expect(back.useDora).toBe(true);
    expect(back.modules[0]!.magnitude).toEqual(magnitude);
  });

  it('refuses inconsistent adapters before touching the directory', async () => {
    const bad = adapterWithTwoRanks();
    bad.modules[0]!.A = new Float32Array(5);
    await expect(writePeftAdapter(join(dir, 'x'), bad)).rejects.toThrow(/encoder\.layer\.0\.attention\.self\.query.*A has 5 elements, expected r×in = 4×6/);
    const half: PeftAdapter = { ...adapterWithTwoRanks(), useDora: true };
    await expect(writePeftAdapter(join(dir, 'y'), half)).rejects.toThrow(/useDora is set but this module has no magnitude/);
    expect(await readdir(dir)).toEqual([]);
  });
});

/**
 * An adapter directory as PEFT (safetensors.torch.save_file + json.dumps(sort_keys=True, indent=2)) would
 * leave it, built here byte by byte: unpadded header, tensors not in name order, F16 data for one tensor.
 */
async function writeHandMadeAdapter(target: string, overrides: Record<string, unknown> = {}, extraTensor = false): Promise<void> {
  const f32 = (vals: number[]) => Buffer.from(new Float32Array(vals).buffer);
  const f16 = (bits: number[]) => Buffer.from(new Uint16Array(bits).buffer); // little-endian host
  // q_proj: r = 2 (rank_pattern), in = 3, out = 2.  v_proj: r = 1 (config r), in = 3, out = 2.
  const chunks: [string, string, number[], Buffer][] = [
    ['base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight', 'F32', [2, 1], f32([0.25, -0.5])],
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', 'F32', [2, 3], f32([1, 2, 3, 4, 5, 6])],
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', 'F32', [2, 2], f32([-1, -2, -3, -4])],
    // 1.5 = 0x3e00, -0.125 = 0xb000, 2 = 0x4000 in IEEE binary16.
    ['base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight', 'F16', [1, 3], f16([0x3e00, 0xb000, 0x4000])],
    ['base_model.model.score.weight', 'F32', [1, 2], f32([7, 8])],
  ];
  if (extraTensor) chunks.push(['base_model.model.model.norm.weight', 'F32', [1], f32([1])]);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, dtype, shape, data] of chunks) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.length] };
    offset += data.length;
  }
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  await writeFile(join(target, 'adapter_model.safetensors'), Buffer.concat([len, headerBytes, ...chunks.map((c) => c[3])]));

  const config: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: 'meta-llama/Llama-3.2-1B',
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: 16,
    lora_dropout: 0.05,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: ['classifier', 'score'],
    peft_type: 'LORA',
    r: 1,
    rank_pattern: { q_proj: 2 },
    revision: null,
    target_modules: ['v_proj', 'q_proj'],
    task_type: 'SEQ_CLS',
    use_dora: false,
    use_rslora: false,
    ...overrides,
  };
  // Python's json.dumps(indent=2) writes 0.05 and 16 exactly as JSON.stringify does.
  await writeFile(join(target, 'adapter_config.json'), JSON.stringify(config, null, 2));
}

describe('readPeftAdapter on a directory PEFT wrote', () => {
  it('maps keys to modules, applies rank_pattern, widens F16 to f32, and collects modules_to_save', async () => {
    await writeHandMadeAdapter(dir);
    const a = await readPeftAdapter(dir);
    expect(a.baseModel).toBe('meta-llama/Llama-3.2-1B');
    expect(a.taskType).toBe('SEQ_CLS');
    expect(a.dropout).toBe(0.05);
    const q = a.modules.find((m) => m.module === 'model.layers.0.self_attn.q_proj')!;
    const v = a.modules.find((m) => m.module === 'model.layers.0.self_attn.v_proj')!;
    expect(a.modules).toHaveLength(2);
    expect({ r: q.r, alpha: q.alpha, in: q.inFeatures, out: q.outFeatures }).toEqual({ r: 2, alpha: 16, in: 3, out: 2 });
    expect([...q.A]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...q.B]).toEqual([-1, -2, -3, -4]);
    expect({ r: v.r, in: v.inFeatures, out: v.outFeatures }).toEqual({ r: 1, in: 3, out: 2 });
    expect([...v.A]).toEqual([1.5, -0.125, 2]);
    expect([...v.B]).toEqual([0.25, -0.5]);
    expect(a.modulesToSave).toEqual([{ module: 'score', tensors: { weight: { data: new Float32Array([7, 8]), shape: [1, 2] } } }]);
  });

  it('names the file and key when a shape disagrees with the configured rank', async () => {
    await writeHandMadeAdapter(dir, { rank_pattern: {} }); // q_proj now expected at r = 1
    const err = await readPeftAdapter(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeftFormatError);
    expect((err as PeftFormatError).file).toBe(join(dir, 'adapter_model.safetensors'));
    expect((err as PeftFormatError).key).toBe('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect((err as Error).message).toMatch(/lora_A has r = 2 rows but adapter_config\.json gives r = 1/);
  });

  it('rejects keys that belong to neither LoRA nor modules_to_save, and non-LoRA configs', async () => {
    await writeHandMadeAdapter(dir, {}, true);
    await expect(readPeftAdapter(dir)).rejects.toThrow(/\[base_model\.model\.model\.norm\.weight\]: neither a LoRA parameter/);
    await writeHandMadeAdapter(dir, { peft_type: 'IA3' });
    await expect(readPeftAdapter(dir)).rejects.toThrow(/adapter_config\.json \[peft_type\]: peft_type is "IA3"/);
    await writeHandMadeAdapter(dir, { use_dora: true });
    await expect(readPeftAdapter(dir)).rejects.toThrow(/use_dora true but module '.*' has no magnitude/);
  });

  it('reports a missing weights file by name', async () => {
    await writeHandMadeAdapter(dir);
    await rm(join(dir, 'adapter_model.safetensors'));
    await expect(readPeftAdapter(dir)).rejects.toThrow(/adapter_model\.safetensors: missing/);
  });
});
