/**
 * The GPU check's PEFT half, swaglet's side: the MLP finetune (examples/mlp_classifier.swag, LoRA
 * on fc1 and fc2, a trained head) compiled and loaded on the device with seeded tensors (B not
 * zero, so the adapter matters), one forward pass, and for PEFT to load:
 *   DIR/adapter/        adapter_config.json + adapter_model.safetensors (io/peft.ts's writer)
 *   DIR/base.safetensors  the frozen base weights (fc1.weight, fc1.bias, ...)
 *   DIR/io.safetensors    the input x and swaglet's output y
 * scripts/gpu/peft_check.py then loads them with PEFT and compares outputs.
 *
 *   tsx scripts/gpu/peft-export.ts DIR
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LoraModuleWeights, writePeftAdapter } from '../../io/peft.ts';
import { writeSafetensors } from '../../io/safetensors.ts';
import { openDevice } from '../../runtime/index.ts';
import { compile } from '../../swaglet.ts';

const DIMS = { features: 12, hidden: 16, classes: 3, n: 5, K: 3 };

/** examples/ beside the repository's scripts/, or beside the standalone build's lib/. */
function examplesDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const found = [join(here, '../../examples'), join(here, '../examples')].find((d) => existsSync(join(d, 'mlp_classifier.swag')));
  if (!found) throw new Error(`examples/mlp_classifier.swag not found near ${here}`);
  return resolve(found);
}

function seeded(count: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: peft-export DIR');
  mkdirSync(dir, { recursive: true });
  const examples = examplesDir();
  const file = join(examples, 'mlp_classifier.swag');
  const readFile = (path: string) => {
    const p = resolve(examples, path);
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  };
  const device = await openDevice();
  const [unit] = await compile(readFileSync(file, 'utf8'), { device, file, readFile, dims: DIMS });
  if (!unit) throw new Error('mlp_classifier.swag compiled to no unit');
  const values = new Map<string, Float32Array>();
  unit.tensors.forEach((t, i) => {
    if (t.role === 'state') return;
    const data = seeded(t.shape.reduce((a, b) => a * b, 1), 100 + i, 0.5);
    values.set(t.name, data);
    unit.set(t.name, data);
  });
  const x = seeded(DIMS.n * DIMS.features, 7, 1);
  const { y } = unit.forward({ x });
  const yData = Float32Array.from(await device.read(y!));

  const modules: LoraModuleWeights[] = unit.compiled.network!.attachments.map((a) => ({
    module: a.layer,
    A: values.get(`${a.layer}.A`)!,
    B: values.get(`${a.layer}.B`)!,
    r: a.dims.r!,
    inFeatures: a.dims.in!,
    outFeatures: a.dims.out!,
    alpha: a.scalars.alpha ?? a.dims.r!,
  }));
  const shapeOf = (name: string) => [...unit.tensors.find((t) => t.name === name)!.shape];
  await writePeftAdapter(join(dir, 'adapter'), {
    baseModel: null,
    taskType: null,
    modules,
    modulesToSave: [{ module: 'head', tensors: { weight: { data: values.get('head.weight')!, shape: shapeOf('head.weight') }, bias: { data: values.get('head.bias')!, shape: shapeOf('head.bias') } } }],
    dropout: Math.max(...unit.compiled.network!.attachments.map((a) => a.scalars.p ?? 0)),
  });
  const frozen = unit.tensors.filter((t) => t.role === 'frozen');
  await writeSafetensors(join(dir, 'base.safetensors'), Object.fromEntries(frozen.map((t) => [t.name, { dtype: 'F32' as const, shape: [...t.shape], data: values.get(t.name)! }])));
  await writeSafetensors(join(dir, 'io.safetensors'), {
    x: { dtype: 'F32', shape: [DIMS.n, DIMS.features], data: x },
    y: { dtype: 'F32', shape: [DIMS.n, DIMS.classes], data: yData },
  });
  process.stdout.write(`peft-export: ${unit.name} on ${device.describe()}: ${modules.map((m) => m.module).join(', ')} + head -> ${dir}\n`);
  unit.destroy();
  device.destroy();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`peft-export failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
