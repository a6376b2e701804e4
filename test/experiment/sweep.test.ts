/**
 * Sweeps: the grid of a config's `sweep` section, each point an experiment of its own, trained
 * and evaluated by the CLI with a summary table; bad sweeps are config errors naming the path.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../experiment/config.ts';
import { sweepPoints, writeSweepPoints } from '../../experiment/sweep.ts';
import { runCli } from '../helpers/cli.ts';
import { writeTabularExperiment } from '../queue/fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-sweep-'));
let configOf: Awaited<ReturnType<typeof writeTabularExperiment>>;
beforeAll(async () => {
  configOf = await writeTabularExperiment(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sweep', () => {
  it('spans the grid: one checked config per point, named by its values', () => {
    const c = readConfig(configOf('grid', { sweep: { 'train.lr': [0.01, 0.05], 'train.swag.lr': [0.02, 0.03, 0.04] } }));
    const points = sweepPoints(c);
    expect(points.map((p) => p.name)).toEqual([
      'tabular.lr_0.01.lr_0.02', 'tabular.lr_0.01.lr_0.03', 'tabular.lr_0.01.lr_0.04',
      'tabular.lr_0.05.lr_0.02', 'tabular.lr_0.05.lr_0.03', 'tabular.lr_0.05.lr_0.04',
    ]);
    expect(points.map((p) => [p.train.lr, p.train.swag.lr])).toEqual([[0.01, 0.02], [0.01, 0.03], [0.01, 0.04], [0.05, 0.02], [0.05, 0.03], [0.05, 0.04]]);
    expect(points.every((p) => p.sweep === null)).toBe(true);
    expect(sweepPoints(readConfig(configOf('none')))).toHaveLength(1);
  });

  it('writes each point as a config a worker reads back unchanged', async () => {
    const c = readConfig(configOf('written', { sweep: { 'train.seed': [1, 2] } }));
    const points = sweepPoints(c);
    const paths = await writeSweepPoints(c, points);
    const back = paths.map((p) => readConfig(p));
    expect(back.map((b) => [b.name, b.train.seed, b.model.file, b.model.weights, b.data.train])).toEqual(points.map((p) => [p.name, p.train.seed, p.model.file, p.model.weights, p.data.train]));
  });

  it.each([
    [{ 'train.lrr': [1] }, /'sweep\.train\.lrr': the config has no field 'train\.lrr'/],
    [{ 'train.lr': [] }, /'sweep\.train\.lr' must be a non-empty list/],
    [{ 'train.lr': ['fast'] }, /'sweep\.train\.lr': "fast" is not a number/],
    [{ 'train.lr': [-1] }, /sweep point tabular\.lr_-1: 'train\.lr' must be positive/],
  ])('%j is refused, naming the path', (sweep, message) => {
    expect(() => sweepPoints(readConfig(configOf('bad', { sweep })))).toThrow(ConfigError);
    expect(() => sweepPoints(readConfig(configOf('bad', { sweep })))).toThrow(message);
  });

  it('swaglet train and eval run every point and write a summary', async () => {
    const path = configOf('cli', { runs: 1, checkpointEvery: 50, train: { seed: 5, epochs: 4, lr: 0.05, warmupSteps: 2, swag: { epochs: 2, lr: 0.02, collectEvery: 3 } }, sweep: { 'train.swag.lr': [0.01, 0.03] } });
    const trained = await runCli('train', path);
    expect(trained.code, trained.err).toBe(0);
    expect(trained.err).toMatch(/trained 2 run\(s\) over 2 sweep points/);
    const evaluated = await runCli('eval', path);
    expect(evaluated.code, evaluated.err).toBe(0);
    for (const point of ['tabular.lr_0.01', 'tabular.lr_0.03']) expect(existsSync(join(dir, 'out-cli', `${point}.json`)), point).toBe(true);
    const summary = readFileSync(join(dir, 'out-cli', 'tabular-sweep.md'), 'utf8');
    expect(summary).toMatch(/\| lr_0\.01 \| [0-9.]+ \/ [0-9.]+ \/ [0-9.]+ \|/);
    expect(summary).toMatch(/\| lr_0\.03 \|/);
  }, 120_000);
});
