/**
 * Writes the example's base checkpoint and data files, deterministically from a seed:
 *
 *     npx tsx examples/custom-adapter/make-data.ts [--seed 7]
 *
 * - `base.safetensors`: the frozen MLP's two hidden layers under PyTorch `nn.Sequential` names
 *   (`encoder.0.*`, `encoder.2.*`), so the config needs a rename table. The weights are FIXED
 *   RANDOM FEATURES (He-scaled normals), not a pretrained network: the example is about the
 *   plumbing (a new adapter, your own checkpoint and data), and the adapter plus the head have to
 *   do the learning on top of a random ReLU feature map.
 * - Data: readings of 8 pump sensors (standardized units), labelled `normal`, `cavitation` or
 *   `bearing_wear`. Each class is a Gaussian around its own mean with a shared, correlated noise,
 *   and the `vibration` channels carry a class-dependent nonlinearity, so the classes overlap:
 *   no classifier is perfect, and calibration matters.
 *   `train.csv` (360 rows), `validation.jsonl` (120), `test.parquet` (300): the same distribution;
 *   `shift.csv` (300): the same pumps after a sensor drift (offsets on temperature and pressure,
 *   a gain on the flow meter, more noise).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { writeSafetensors } from '../../io/safetensors.ts';
import { mulberry32 } from '../../kernels/cpu/seeded.ts';

export const FEATURES = ['flow', 'pressure', 'temperature', 'vibration_x', 'vibration_y', 'current', 'noise_db', 'rpm'] as const;
export const CLASSES = ['normal', 'cavitation', 'bearing_wear'] as const;
const HIDDEN = 32;

const here = dirname(fileURLToPath(import.meta.url));

/** Standard normals from a seeded uniform generator (Box–Muller). */
function normals(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

interface Row {
  values: number[];
  label: string;
}

/** The task: class means, a shared noise mixing, and how a sensor drift changes the readings. */
function makeTask(seed: number) {
  const z = normals(seed);
  const k = FEATURES.length;
  const means = CLASSES.map(() => Array.from({ length: k }, () => 0.75 * z()));
  // Correlated noise: x = mean + L e, L a random lower-triangular mixing with a unit-ish diagonal.
  const mix = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (j < i ? 0.35 * z() : j === i ? 1 : 0)));
  return { means, mix };
}

function sample(task: ReturnType<typeof makeTask>, count: number, seed: number, drift: boolean): Row[] {
  const z = normals(seed);
  const u = mulberry32(seed + 1);
  const k = FEATURES.length;
  const rows: Row[] = [];
  for (let n = 0; n < count; n++) {
    // Classes in proportions 45 / 30 / 25 %.
    const r = u();
    const c = r < 0.45 ? 0 : r < 0.75 ? 1 : 2;
    const e = Array.from({ length: k }, () => z());
    const x = task.means[c]!.map((m, i) => m + task.mix[i]!.reduce((s, l, j) => s + l * e[j]!, 0));
    // Bearing wear shakes both axes together; cavitation only one: a nonlinear cue.
    const shake = c === 2 ? 0.9 * Math.abs(e[3]!) : c === 1 ? 0.6 * Math.abs(e[4]!) - 0.3 : -0.2;
    x[3]! += shake;
    x[4]! += c === 2 ? shake : -0.5 * shake;
    if (drift) {
      x[0] = 1.4 * x[0]!; // the flow meter's gain drifted
      x[1]! -= 0.8; // pressure sensor offset
      x[2]! += 1.0; // warmer site
      for (let i = 0; i < k; i++) x[i]! += 0.5 * z();
    }
    rows.push({ values: x.map((v) => Math.round(v * 1e4) / 1e4), label: CLASSES[c]! });
  }
  return rows;
}

/** The frozen base: `encoder.0` (Linear 8 → 32) and `encoder.2` (Linear 32 → 32), random He-scaled. */
async function writeBase(path: string, seed: number): Promise<void> {
  const z = normals(seed);
  const layer = (out: number, inp: number) => ({
    weight: { dtype: 'F32' as const, shape: [out, inp], data: Float32Array.from({ length: out * inp }, () => z() * Math.sqrt(2 / inp)) },
    bias: { dtype: 'F32' as const, shape: [out], data: Float32Array.from({ length: out }, () => 0.1 * z()) },
  });
  const l0 = layer(HIDDEN, FEATURES.length);
  const l2 = layer(HIDDEN, HIDDEN);
  await writeSafetensors(path, { 'encoder.0.weight': l0.weight, 'encoder.0.bias': l0.bias, 'encoder.2.weight': l2.weight, 'encoder.2.bias': l2.bias }, { format: 'pt', note: `fixed random features (seed ${seed}), not pretrained` });
}

const csv = (rows: readonly Row[]) => `${[...FEATURES, 'label'].join(',')}\n${rows.map((r) => [...r.values, r.label].join(',')).join('\n')}\n`;
const jsonl = (rows: readonly Row[]) => `${rows.map((r) => JSON.stringify({ ...Object.fromEntries(FEATURES.map((f, i) => [f, r.values[i]])), label: r.label })).join('\n')}\n`;
function parquet(rows: readonly Row[]): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      ...FEATURES.map((f, i) => ({ name: f, data: rows.map((r) => r.values[i]!), type: 'DOUBLE' as const })),
      { name: 'label', data: rows.map((r) => r.label), type: 'STRING' as const },
    ],
  });
}

/** Writes everything into `dir`; returns the files written. */
export async function makeData(dir: string, seed: number): Promise<string[]> {
  const task = makeTask(seed);
  const files = {
    'train.csv': csv(sample(task, 360, seed + 10, false)),
    'validation.jsonl': jsonl(sample(task, 120, seed + 20, false)),
    'test.parquet': new Uint8Array(parquet(sample(task, 300, seed + 30, false))),
    'shift.csv': csv(sample(task, 300, seed + 40, true)),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  await writeBase(join(dir, 'base.safetensors'), seed + 50);
  return [...Object.keys(files), 'base.safetensors'].map((f) => join(dir, f));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--seed');
  const seed = at > 0 ? Number(process.argv[at + 1]) : 7;
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be a whole number, got ${process.argv[at + 1]}`);
  for (const f of await makeData(here, seed)) console.log(`wrote ${f}`);
}
