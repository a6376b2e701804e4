/**
 * examples/custom-adapter end to end: a LoHa adapter written in `.swag`, a renamed base
 * checkpoint and the data files shipped in the folder, trained, evaluated and predicted through
 * the API (the example's own `runExample`) in a temporary output folder; then `swaglet predict`
 * on the same runs, and bad inputs through the CLI.
 *
 * The MAP probabilities are checked against a plain CPU forward pass of the MLP with LoHa, from
 * the checkpoint and the trained parameters; the report's accuracies against the predictions.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict } from '../../experiment/api.ts';
import { readConfig } from '../../experiment/config.ts';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.ts';
import { CONFIG, type ExampleResult, runExample } from '../../examples/custom-adapter/train.ts';
import { runCli } from '../helpers/cli.ts';

const EXAMPLE = dirname(CONFIG);
const FEATURES = ['flow', 'pressure', 'temperature', 'vibration_x', 'vibration_y', 'current', 'noise_db', 'rpm'];
const CLASSES = ['bearing_wear', 'cavitation', 'normal'];
const METHODS = ['MAP', 'MC dropout', 'Ensemble', 'SWA', 'SWAG', 'MultiSWAG'];
const ID = 'in distribution (test.parquet)';
const SHIFT = 'shift (shift.csv)';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-custom-adapter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = join(dir, 'results');
const config = { ...readConfig(CONFIG), out };

/** The example's config.json with every path made absolute, the output in the temp folder, and `changes` over it. */
function configFile(name: string, changes: (json: Record<string, any>) => void): string {
  const json = JSON.parse(readFileSync(CONFIG, 'utf8')) as Record<string, any>;
  json.model.file = resolve(EXAMPLE, json.model.file);
  json.model.weights = resolve(EXAMPLE, json.model.weights);
  for (const s of ['train', 'validation', 'test', 'shift']) json.data[s] = resolve(EXAMPLE, json.data[s]);
  json.out = join(dir, `results-${name}`);
  changes(json);
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(json));
  return path;
}

/** A small CSV reader for the shipped files (plain numbers and names, no quoting). */
function readCsv(path: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  return { header: head!.split(','), rows: lines.map((l) => l.split(',')) };
}

let result: ExampleResult;
beforeAll(async () => {
  result = await runExample(config, { input: join(EXAMPLE, 'shift.csv'), fresh: true });
}, 60_000);

describe('examples/custom-adapter through the API', () => {
  it('trains 2 runs, each collecting SWAG snapshots, and moves the LoHa factors off their start', async () => {
    for (const m of [0, 1]) {
      const run = await readSafetensors(join(out, 'custom-adapter', 'runs', `run-${m}`, 'result.safetensors'));
      expect(Number(run.metadata.collected)).toBeGreaterThanOrEqual(2);
      // w2_b starts at zero: trained, it is not.
      const w2b = run.tensors['map.fc2.w2_b']!.data as Float32Array;
      expect(w2b.length).toBe(4 * 32);
      expect(Math.max(...w2b.map(Math.abs))).toBeGreaterThan(1e-3);
    }
  });

  it('writes a report with every method on every split, in the schema evaluate writes for the demo', () => {
    const report = result.report as unknown as Record<string, any>;
    expect(Object.keys(report).sort()).toEqual(['comparisons', 'config', 'notes', 'results', 'title']);
    for (const split of [ID, SHIFT]) {
      const rows = report.results.filter((r: any) => r.split === split);
      expect(rows.map((r: any) => r.method)).toEqual(METHODS);
      for (const r of rows) {
        // One seed: the standard errors are 0 and perSeed holds that one seed's values.
        expect(Object.keys(r).sort()).toEqual(['bins', 'method', 'metrics', 'perSeed', 'split', 'stderr']);
        expect(r.perSeed).toEqual([r.metrics]);
        expect(Object.keys(r.metrics).sort()).toEqual(['accuracy', 'brier', 'ece', 'ece (20 bins)', 'nll']);
        for (const v of Object.values(r.metrics) as number[]) expect(Number.isFinite(v)).toBe(true);
        for (const b of r.bins) expect(Object.keys(b).sort()).toEqual(['accuracy', 'confidence', 'count', 'hi', 'lo']);
        expect(r.bins.reduce((s: number, b: any) => s + b.count, 0)).toBe(300);
      }
    }
    const ood = report.results.filter((r: any) => r.split === 'OOD detection');
    expect(ood.map((r: any) => r.method)).toEqual(METHODS);
    for (const r of ood) expect(Object.keys(r.metrics).sort()).toEqual(['auroc entropy (shift)', 'auroc maxprob (shift)']);
    expect(report.comparisons.map((c: any) => `${c.method} / ${c.split}`)).toContain(`SWAG / ${ID}`);
    for (const name of ['custom-adapter.json', 'custom-adapter.md', 'custom-adapter-reliability-id.svg', 'custom-adapter-reliability-shift.svg']) expect(result.reportFiles).toContain(join(out, name));
  });

  it('learns: SWAG on the test file is far above chance, and the report agrees with the predictions', async () => {
    const swag = result.report.results.find((r) => r.method === 'SWAG' && r.split === ID)!.metrics;
    // Chance: 1/3 for three classes, 0.45 for always answering the largest one.
    expect(swag.accuracy).toBeGreaterThan(0.75);
    // The same draws (seeded) on test.parquet give the report's accuracy.
    const test = await predict({ config, input: join(EXAMPLE, 'test.parquet'), method: 'SWAG' });
    const { readTable } = await import('../../data/table.ts');
    const labels = (await readTable(join(EXAMPLE, 'test.parquet'))).column('label').map(String);
    const accuracy = labels.filter((l, i) => test.classes[test.predicted[i]!] === l).length / labels.length;
    expect(accuracy).toBeCloseTo(swag.accuracy, 6);
  }, 30_000);

  it('MAP probabilities match a plain CPU forward pass of the MLP with LoHa', async () => {
    const base = (await readSafetensors(join(EXAMPLE, 'base.safetensors'))).tensors;
    const run = (await readSafetensors(join(out, 'custom-adapter', 'runs', 'run-0', 'result.safetensors'))).tensors;
    const t = (name: string) => base[name]?.data ?? run[`map.${name}`]!.data;
    const [W1, b1, W2, b2] = ['encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias'].map((n) => t(n) as Float32Array);
    const [a1, c1, a2, c2, H, hb] = ['fc2.w1_a', 'fc2.w1_b', 'fc2.w2_a', 'fc2.w2_b', 'head.weight', 'head.bias'].map((n) => t(n) as Float32Array);
    const h = 32;
    const r = 4;
    const scale = 8 / r;
    // ΔW[o, i] = (w1_a w1_b)[o, i] · (w2_a w2_b)[o, i] · alpha / r
    const W2eff = new Float64Array(h * h);
    for (let o = 0; o < h; o++) {
      for (let i = 0; i < h; i++) {
        let p1 = 0;
        let p2 = 0;
        for (let k = 0; k < r; k++) {
          p1 += a1![o * r + k]! * c1![k * h + i]!;
          p2 += a2![o * r + k]! * c2![k * h + i]!;
        }
        W2eff[o * h + i] = W2![o * h + i]! + scale * p1 * p2;
      }
    }
    const dense = (W: ArrayLike<number>, b: ArrayLike<number>, x: ArrayLike<number>, outs: number, relu: boolean) =>
      Array.from({ length: outs }, (_, o) => {
        let s = b[o]!;
        for (let i = 0; i < x.length; i++) s += W[o * x.length + i]! * x[i]!;
        return relu ? Math.max(s, 0) : s;
      });
    const { header, rows } = readCsv(join(EXAMPLE, 'shift.csv'));
    const cols = FEATURES.map((f) => header.indexOf(f));
    const map = await predict({ config, input: join(EXAMPLE, 'shift.csv'), method: 'MAP' });
    let worst = 0;
    for (let n = 0; n < 40; n++) {
      const x = cols.map((c) => Number(rows[n]![c]));
      const logits = dense(H!, hb!, dense(W2eff, b2!, dense(W1!, b1!, x, h, true), h, true), 3, false);
      const m = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(e[k]! / z - map.probabilities[n * 3 + k]!));
    }
    expect(worst).toBeLessThan(1e-4);
  }, 30_000);

  it('predicts the shifted file with SWAG: one row per input, probabilities summing to 1, entropy ≥ 0, class names', () => {
    const { header, rows } = readCsv(result.predictionsFile);
    expect(header).toEqual(['row', 'prediction', ...CLASSES.map((c) => `p_${c}`), 'entropy']);
    expect(rows.length).toBe(readCsv(join(EXAMPLE, 'shift.csv')).rows.length);
    rows.forEach((row, i) => {
      expect(Number(row[0])).toBe(i);
      const p = row.slice(2, 5).map(Number);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(CLASSES).toContain(row[1]);
      expect(row[1]).toBe(CLASSES[p.indexOf(Math.max(...p))]);
      const entropy = Number(row[5]);
      expect(entropy).toBeGreaterThanOrEqual(0);
      expect(entropy).toBeCloseTo(-p.reduce((s, q) => s + (q > 0 ? q * Math.log(q) : 0), 0), 6);
    });
    // SWAG's draws spread: some rows are uncertain, not every probability is 0 or 1.
    expect(rows.some((row) => Number(row[5]) > 0.3)).toBe(true);
  });
});

describe('examples/custom-adapter through the CLI', () => {
  it('swaglet predict on the same runs gives the API\'s SWAG predictions', async () => {
    const path = configFile('cli', (json) => (json.out = out));
    const output = join(dir, 'cli-predictions.jsonl');
    const { code, err } = await runCli('predict', path, '--input', join(EXAMPLE, 'shift.csv'), '--output', output);
    expect(code, err).toBe(0);
    expect(err).toMatch(/300 rows by SWAG/);
    const lines = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { row: number; prediction: string; probabilities: Record<string, number>; entropy: number; method: string });
    expect(lines.length).toBe(300);
    const p = result.prediction;
    lines.forEach((l, i) => {
      expect(l.row).toBe(i);
      expect(l.method).toBe('SWAG');
      expect(Object.keys(l.probabilities)).toEqual(CLASSES);
      expect(l.prediction).toBe(p.classes[p.predicted[i]!]);
      CLASSES.forEach((c, k) => expect(l.probabilities[c]).toBeCloseTo(p.probabilities[i * 3 + k]!, 5));
      expect(l.entropy).toBeGreaterThanOrEqual(0);
    });
  }, 30_000);

  const noStack = (err: string) => expect(err).not.toMatch(/\n\s+at .*(\.ts|\.js):\d+/);

  it('a data file without the label column: exit 1, naming the file and the column', async () => {
    const { header, rows } = readCsv(join(EXAMPLE, 'shift.csv'));
    const unlabelled = join(dir, 'unlabelled.csv');
    writeFileSync(unlabelled, [header.slice(0, -1), ...rows.map((r) => r.slice(0, -1))].map((r) => r.join(',')).join('\n'));
    const { code, err } = await runCli('train', configFile('nolabel', (json) => (json.data.test = unlabelled)));
    expect(code).toBe(1);
    noStack(err);
    expect(err).toMatch(/unlabelled\.csv/);
    expect(err).toMatch(/label/);
  }, 30_000);

  it('a checkpoint missing a tensor: exit 1, the BaseWeightsError naming it', async () => {
    const base = (await readSafetensors(join(EXAMPLE, 'base.safetensors'))).tensors;
    const partial = join(dir, 'partial.safetensors');
    await writeSafetensors(partial, Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'encoder.2.bias')));
    const { code, err } = await runCli('train', configFile('partial', (json) => (json.model.weights = partial)));
    expect(code).toBe(1);
    noStack(err);
    expect(err).toMatch(/partial\.safetensors/);
    expect(err).toMatch(/missing \(1, expected but not in the checkpoint\):\s+fc2\.bias \[32\]/);
  }, 30_000);

  it('a label in the test file that training never saw: exit 1, naming the file, row and label', async () => {
    const { header, rows } = readCsv(join(EXAMPLE, 'shift.csv'));
    rows[4]![rows[4]!.length - 1] = 'overheating';
    const strange = join(dir, 'new-label.csv');
    writeFileSync(strange, [header, ...rows].map((r) => r.join(',')).join('\n'));
    const { code, err } = await runCli('train', configFile('newlabel', (json) => (json.data.test = strange)));
    expect(code).toBe(1);
    noStack(err);
    expect(err).toMatch(/new-label\.csv/);
    expect(err).toMatch(/overheating/);
    expect(err).toMatch(/row 5|line 6/);
  }, 30_000);
});
