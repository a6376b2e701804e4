/**
 * Repeats of an experiment share their examples: `data.resplit` deals the pool a seed drew out
 * again among the splits of a shared source, and the frozen prefix of an example seen before is
 * copied rather than computed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DataConfig, loadSplits } from '../../experiment/dataSources.ts';
import { seedConfig, DEMO_CONFIG } from '../../experiment/config.ts';
import { computeFeatures, computeFeaturesReusing, FeatureTable, knownFeatures } from '../../train/features.ts';
import { COUNT, featuresOf, network, task } from '../train/fixture.ts';

function csvFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'swaglet-resplit-'));
  // 3 classes of unequal size (60, 30, 15): class counts per split must survive a resplit.
  const rows = ['text,label'];
  const sizes = { a: 60, b: 30, c: 15 };
  for (const [label, n] of Object.entries(sizes)) for (let i = 0; i < n; i++) rows.push(`${label} example ${i},${label}`);
  const path = join(dir, 'all.csv');
  writeFileSync(path, `${rows.join('\n')}\n`);
  return dir;
}

const config = (dir: string, resplit: number): DataConfig => ({
  train: 'all.csv', validation: 'all.csv', test: 'all.csv', sizes: { train: 40, validation: 20, test: 30 },
  task: 'classification', text: 'text', label: 'label', seed: 5, resplit,
});

const classCounts = (labels: Int32Array) => [0, 1, 2].map((c) => labels.filter((l) => l === c).length);

describe('data.resplit', () => {
  it('carves exactly the sizes asked, even when class proportions leave remainders', async () => {
    const dir = csvFixture();
    const d = await loadSplits(config(dir, 0), dir);
    expect([d.train.labels.length, d.validation.labels.length, d.test.labels.length]).toEqual([40, 20, 30]);
    // 60:30:15 of 40 is 22.9 : 11.4 : 5.7, by largest remainder 23 : 11 : 6.
    expect(classCounts(d.train.labels)).toEqual([23, 11, 6]);
  });

  it('deals the same examples into new splits with the same class counts', async () => {
    const dir = csvFixture();
    const [a, b, c] = await Promise.all([0, 1, 2].map((r) => loadSplits(config(dir, r), dir)));
    const pool = (d: typeof a) => [...d.train.texts!, ...d.validation.texts!, ...d.test.texts!].sort();
    expect(pool(b)).toEqual(pool(a));
    expect(pool(c)).toEqual(pool(a));
    for (const s of ['train', 'validation', 'test'] as const) {
      expect(classCounts(b[s].labels)).toEqual(classCounts(a[s].labels));
      expect(new Set(b[s].texts).size).toBe(b[s].texts!.length);
    }
    // Not the same partition, and not the same as each other.
    expect(b.test.texts!.slice().sort()).not.toEqual(a.test.texts!.slice().sort());
    expect(c.test.texts!.slice().sort()).not.toEqual(b.test.texts!.slice().sort());
    // Splits stay disjoint.
    expect(new Set(pool(b)).size).toBe(90);
  });

  it('resplit 0 is the draw as it always was (same examples, same order)', async () => {
    const dir = csvFixture();
    const { resplit: _, ...without } = config(dir, 0);
    const [a, b] = await Promise.all([loadSplits(config(dir, 0), dir), loadSplits(without as DataConfig, dir)]);
    expect(a.test.texts).toEqual(b.test.texts);
    expect(a.train.texts).toEqual(b.train.texts);
  });

  it('seed i of an experiment is resplit i, with its own training seeds', () => {
    const c = { ...DEMO_CONFIG, seeds: 3 };
    expect(seedConfig(c, 2).data.resplit).toBe(2);
    expect(seedConfig(c, 2).data.seed).toBe(c.data.seed);
    expect(seedConfig(c, 2).train.seed).toBe(c.train.seed + 2 * c.runs);
  });
});

describe('computeFeaturesReusing', () => {
  it('copies the rows it knows, computes the rest, and equals computing all', async () => {
    const { frozen, x } = task(4);
    const net = await network(frozen);
    try {
      const all = await featuresOf(net, x);
      const inputs = new FeatureTable(net.dataInputs, COUNT, new Map([[net.dataInputs[0]!.name, x]]));
      // Known: the first 60 rows. Asked: rows 40..95 in reverse (16 known, 36 new... and order kept).
      const known = knownFeatures(inputs.select([...Array(60).keys()]), all.select([...Array(60).keys()]));
      const asked = Array.from({ length: 56 }, (_, k) => 95 - k);
      let computed = 0;
      const { table, reused } = await computeFeaturesReusing(net, inputs.select(asked), known, (done) => (computed = done));
      expect(reused).toBe(20);
      expect(computed).toBe(36);
      const direct = await computeFeatures(net, inputs.select(asked));
      for (const s of net.features) expect(Array.from(table.columns.get(s.name)!)).toEqual(Array.from(direct.columns.get(s.name)!));
    } finally {
      net.destroy();
    }
  });
});
