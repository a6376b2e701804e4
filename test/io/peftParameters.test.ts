/**
 * PEFT adapters into a finetune's parameters: what swaglet writes (experiment/adapters.ts's
 * mapping) comes back bit for bit; an adapter saved in PEFT's own layout (keys written here by
 * hand, as `save_pretrained` does) loads by module name; r/alpha/shape mismatches name both sides.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSourceFile } from '../../cli/commands/check.ts';
import { compileSwag } from '../../compiler/compile.ts';
import type { LoweredNetwork } from '../../compiler/lower/index.ts';
import { peftAdapterOf } from '../../experiment/adapters.ts';
import { PeftMismatchError, type PeftAdapter, peftToParameters, readPeftAdapter, readPeftParameters, writePeftAdapter } from '../../io/peft.ts';
import { writeSafetensors } from '../../io/safetensors.ts';
import type { Network } from '../../train/network.ts';
import { randomArray } from '../helpers/random.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swaglet-peft-params-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The MLP finetune as the compiler lowers it: LoRA (r 8, alpha 16) on fc1 and fc2, a trainable head. */
function mlpNetwork(dims: Record<string, number> = {}): LoweredNetwork {
  const r = compileSwag(readFileSync('examples/mlp_classifier.swag', 'utf8'), 'examples/mlp_classifier.swag', {
    target: 'cpu',
    readFile: readSourceFile,
    dims: { features: 12, hidden: 8, classes: 3, n: 4, K: 3, ...dims },
  });
  expect(r.diagnostics).toEqual([]);
  return r.units[0]!.network!;
}

function randomParams(net: LoweredNetwork, seed: number): Map<string, Float32Array> {
  return new Map(net.theta.entries.map((e, i) => [e.path, randomArray(e.size, seed + i)]));
}

/** The writer's view of a network: what peftAdapterOf reads (its attachments and theta layout). */
const writerView = (net: LoweredNetwork) => ({ unit: { compiled: { network: net } }, theta: net.theta }) as unknown as Network;

describe('peftToParameters', () => {
  it('reads back what swaglet writes, bit for bit (LoRA A/B and the head as modules_to_save)', async () => {
    const net = mlpNetwork();
    const params = randomParams(net, 10);
    const { adapter, notes } = peftAdapterOf(writerView(net), params, 'swaglet:MlpSwag');
    expect(notes).toEqual([]);
    const out = join(dir, 'roundtrip');
    await writePeftAdapter(out, adapter);
    const back = await readPeftParameters(out, net.attachments, net.theta.entries);
    expect([...back.keys()]).toEqual(net.theta.entries.map((e) => e.path));
    for (const [k, v] of params) expect(new Uint8Array(back.get(k)!.buffer, back.get(k)!.byteOffset, back.get(k)!.byteLength), k).toEqual(new Uint8Array(v.buffer));
  });

  it("loads an adapter in PEFT's own layout (save_pretrained's keys and config), converting bf16", async () => {
    const net = mlpNetwork();
    const out = join(dir, 'peft-made');
    await mkdir(out);
    const A1 = randomArray(8 * 12, 1);
    const B1 = randomArray(8 * 8, 2);
    const A2 = randomArray(8 * 8, 3);
    const B2 = randomArray(8 * 8, 4);
    const hw = Float32Array.from({ length: 24 }, (_, i) => (i - 12) / 8); // exact in bf16
    const hb = Float32Array.from([0.5, -0.25, 1]);
    await writeSafetensors(
      join(out, 'adapter_model.safetensors'),
      {
        'base_model.model.fc1.lora_A.weight': { dtype: 'F32', shape: [8, 12], data: A1 },
        'base_model.model.fc1.lora_B.weight': { dtype: 'F32', shape: [8, 8], data: B1 },
        'base_model.model.fc2.lora_A.weight': { dtype: 'F32', shape: [8, 8], data: A2 },
        'base_model.model.fc2.lora_B.weight': { dtype: 'F32', shape: [8, 8], data: B2 },
        'base_model.model.head.weight': { dtype: 'BF16', shape: [3, 8], data: hw },
        'base_model.model.head.bias': { dtype: 'F32', shape: [3], data: hb },
      },
      { format: 'pt' },
    );
    await writeFile(
      join(out, 'adapter_config.json'),
      JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, lora_dropout: 0.1, target_modules: ['fc1', 'fc2'], modules_to_save: ['head'], bias: 'none', task_type: 'SEQ_CLS', base_model_name_or_path: null }),
    );
    const got = await readPeftParameters(out, net.attachments, net.theta.entries);
    expect(got.get('fc1.A')).toEqual(A1);
    expect(got.get('fc1.B')).toEqual(B1);
    expect(got.get('fc2.A')).toEqual(A2);
    expect(got.get('fc2.B')).toEqual(B2);
    expect(got.get('head.weight')).toEqual(hw);
    expect(got.get('head.bias')).toEqual(hb);
  });

  it('names both sides when r or alpha differ, and lists every other mismatch in one error', async () => {
    const net = mlpNetwork();
    const params = randomParams(net, 20);
    const { adapter } = peftAdapterOf(writerView(net), params, 'x');
    // An adapter trained with rank 4 on fc1, alpha 32 on fc2, a head of another size and an extra module.
    const changed: PeftAdapter = {
      ...adapter,
      modules: [
        { ...adapter.modules[0]!, r: 4, A: randomArray(4 * 12, 1), B: randomArray(8 * 4, 2) },
        { ...adapter.modules[1]!, alpha: 32 },
        { module: 'fc3', r: 8, alpha: 16, inFeatures: 8, outFeatures: 8, A: randomArray(64, 3), B: randomArray(64, 4) },
      ],
      modulesToSave: [{ module: 'head', tensors: { weight: { data: randomArray(4 * 8, 5), shape: [4, 8] } } }],
    };
    const out = join(dir, 'mismatch');
    await writePeftAdapter(out, changed);
    const err = await readPeftParameters(out, net.attachments, net.theta.entries).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeftMismatchError);
    const problems = (err as PeftMismatchError).problems;
    expect(problems).toContain("fc1: the PEFT adapter has r = 4, alpha = 16; the finetune's LoRA there has r = 8, alpha = 16");
    expect(problems).toContain("fc2: the PEFT adapter has r = 8, alpha = 32; the finetune's LoRA there has r = 8, alpha = 16");
    expect(problems).toContain('LoRA module fc3: the finetune adapts no such layer (it adapts fc1, fc2)');
    expect(problems).toContain("modules_to_save head.weight is [4, 8], the finetune's head.weight is [3, 8]");
    expect(problems).toContain('not in the PEFT adapter: fc1.A [8, 12], fc1.B [8, 8], fc2.A [8, 8], fc2.B [8, 8], head.weight [3, 8], head.bias [3]');
    expect((err as Error).message).toMatch(new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the PEFT adapter does not fit the finetune:\n`));
  });

  it('with allowMissing, loads the LoRA part alone (the head keeps its initializer); rsLoRA and DoRA must agree', async () => {
    const net = mlpNetwork();
    const params = randomParams(net, 30);
    const { adapter } = peftAdapterOf(writerView(net), params, 'x');
    const loraOnly: PeftAdapter = { ...adapter, modulesToSave: [] };
    const got = peftToParameters(loraOnly, net.attachments, net.theta.entries, { allowMissing: true });
    expect([...got.keys()]).toEqual(['fc1.A', 'fc1.B', 'fc2.A', 'fc2.B']);
    expect(got.get('fc2.B')).toBe(params.get('fc2.B'));
    expect(() => peftToParameters({ ...loraOnly, useRslora: true }, net.attachments, net.theta.entries, { allowMissing: true })).toThrow(
      /fc1: the PEFT adapter uses rsLoRA scaling \(alpha\/√r\); the finetune's LoRA does not/,
    );
    const dora: PeftAdapter = { ...loraOnly, modules: loraOnly.modules.map((m) => ({ ...m, magnitude: randomArray(8, 9) })) };
    expect(() => peftToParameters(dora, net.attachments, net.theta.entries, { allowMissing: true })).toThrow(/fc1: the PEFT adapter is DoRA \(lora_magnitude_vector\); the finetune's LoRA there has no magnitude parameter/);
  });

  it('round-trips through readPeftAdapter the adapter object itself', async () => {
    const net = mlpNetwork();
    const { adapter } = peftAdapterOf(writerView(net), randomParams(net, 40), 'x');
    const out = join(dir, 'object');
    await writePeftAdapter(out, adapter);
    const back = await readPeftAdapter(out);
    expect(back.modules.map((m) => [m.module, m.r, m.alpha])).toEqual([['fc1', 8, 16], ['fc2', 8, 16]]);
  });
});
