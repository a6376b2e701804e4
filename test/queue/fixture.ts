/**
 * A bring-your-own experiment small enough to train three times over in seconds: the tabular
 * network of test/train/fixture.ts as a `.swag` file, its frozen layers as a safetensors
 * checkpoint, and CSV splits labelled by a fixed random teacher, all written into `dir`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../io/safetensors.ts';
import { rng } from '../helpers/random.ts';
import { SOURCE, task } from '../train/fixture.ts';

const FEATURES = 8;

function csv(path: string, rows: number, seed: number, teacher: Float32Array): void {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const lines = [[...Array.from({ length: FEATURES }, (_, k) => `f${k}`), 'label'].join(',')];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: FEATURES }, normal);
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < 3; c++) {
      const s = x.reduce((a, v, k) => a + teacher[c * FEATURES + k]! * v, 0);
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    lines.push([...x.map((v) => v.toFixed(6)), ['low', 'mid', 'high'][best]].join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Writes the experiment's files into `dir`; returns a writer of configs over them. */
export async function writeTabularExperiment(dir: string): Promise<(name: string, over?: Record<string, unknown>) => string> {
  writeFileSync(join(dir, 'net.swag'), SOURCE);
  const { frozen } = task(1);
  await writeSafetensors(join(dir, 'base.safetensors'), Object.fromEntries([...frozen].map(([k, v]) => [k, { dtype: 'F32' as const, shape: k.endsWith('bias') ? [v.length] : [12, v.length / 12], data: v }])));
  const r = rng(7);
  const teacher = Float32Array.from({ length: 3 * FEATURES }, () => r() * 2 - 1);
  csv(join(dir, 'train.csv'), 96, 11, teacher);
  csv(join(dir, 'validation.csv'), 32, 12, teacher);
  csv(join(dir, 'test.csv'), 48, 13, teacher);
  return (name, over = {}) => {
    const path = join(dir, `${name}.json`);
    const config = {
      name: 'tabular',
      model: { file: 'net.swag', entry: 'NetSwag', weights: 'base.safetensors', batch: 16, batchDim: 'n' },
      data: { train: 'train.csv', validation: 'validation.csv', test: 'test.csv', features: Array.from({ length: FEATURES }, (_, k) => `f${k}`), label: 'label' },
      train: { seed: 5, epochs: 20, lr: 0.05, warmupSteps: 4, swag: { epochs: 4, lr: 0.02, collectEvery: 3 } },
      runs: 3,
      samples: 6,
      checkpointEvery: 1,
      out: join(dir, `out-${name}`),
      ...over,
    };
    writeFileSync(path, JSON.stringify(config));
    return path;
  };
}
