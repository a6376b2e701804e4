/**
 * Experiment configs: the shipped ones read clean; a bad one gets a message that names the file
 * and the field, never a stack trace or a silently ignored typo.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig, seedConfig, snapshotsCollected } from '../../experiment/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('readConfig', () => {
  it('reads the shipped configs, resolving the .swag file against the config', () => {
    const demo = readConfig('configs/demo.json');
    expect(demo.model.file).toBe(resolve('examples/use_lite_classifier.swag'));
    expect(demo.model.entry).toBe('UseLiteSwag');
    expect(readConfig('configs/full.json').model.entry).toBe('UseLiteSwagFull');
  });

  it('fills missing fields from the defaults', () => {
    const c = readConfig(write('partial.json', '{"name": "x", "runs": 2, "train": {"swag": {"lr": 0.5}}}'));
    expect(c.runs).toBe(2);
    expect(c.train.swag.lr).toBe(0.5);
    expect(c.train.swag.collectEvery).toBeGreaterThan(0);
    expect(c.samples).toBe(30);
  });

  it("reads the paper's recipe and seeds; seed i resplits the drawn pool (data.resplit + i) and trains with train.seed + i·runs + m", () => {
    const paper = readConfig('configs/paper.json');
    expect(paper.model.entry).toBe('UseLiteSwagPaper');
    expect(paper.train.swag).toMatchObject({ collect: 'epoch', start: 'best' });
    expect(paper.train.swag.anneal.divisor).toBeGreaterThan(1);
    expect(paper.samples).toBe(15);
    expect(paper.eceBins).toEqual([15, 20]);
    const demo = readConfig('configs/demo.json');
    expect(demo.seeds).toBe(3);
    const s2 = seedConfig(demo, 2);
    expect([s2.data.seed, s2.data.resplit, s2.train.seed, s2.name]).toEqual([demo.data.seed, 2, demo.train.seed + 2 * demo.runs, `${demo.name}/seed-2`]);
    expect(seedConfig(demo, 0)).toBe(demo);
    expect(() => seedConfig(demo, 3)).toThrow(/not one of the experiment's 3 seeds/);
  });

  it('counts one SWAG snapshot per epoch with collect "epoch", whatever collectEvery says', () => {
    const c = readConfig(write('epochs.json', '{"data": {"sizes": {"train": 320}}, "model": {"batch": 32}, "train": {"swag": {"epochs": 4, "collect": "epoch", "collectEvery": 7}}}'));
    expect(snapshotsCollected(c, 320)).toEqual({ snapshots: 4, steps: 40, stepsPerEpoch: 10 });
    expect(snapshotsCollected({ ...c, train: { ...c.train, swag: { ...c.train.swag, collect: 'steps' } } }, 320).snapshots).toBe(5);
  });

  it('accepts the AdamW fields the docs list', () => {
    const c = readConfig(write('adam.json', '{"train": {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6}}'));
    expect([c.train.beta1, c.train.beta2, c.train.eps]).toEqual([0.8, 0.99, 1e-6]);
  });

  it.each([
    ['typo.json', '{"sampels": 10}', /typo\.json: unknown field 'sampels' \(known: .*samples/],
    ['nested.json', '{"train": {"swag": {"every": 3}}}', /unknown field 'train\.swag\.every'/],
    ['type.json', '{"runs": "3"}', /'runs' must be a number, got "3"/],
    ['zero.json', '{"runs": 0}', /'runs' must be a positive whole number, got 0/],
    ['small.json', '{"data": {"sizes": {"train": 8}}, "model": {"batch": 32}}', /'data\.train' has 8 examples, fewer than one batch \(32\)/],
    ['broken.json', '{"runs": 3', /broken\.json: not valid JSON/],
    ['array.json', '[1, 2]', /the config must be a JSON object/],
    // Fault E: a schedule that collects fewer than 2 SWAG snapshots.
    ['few.json', '{"data": {"sizes": {"train": 64}}, "model": {"batch": 32}, "train": {"swag": {"epochs": 2, "collectEvery": 5}}}', /'train\.swag\.collectEvery' \(5\) collects 0 SWAG snapshots in 4 steps \(2 epochs × 2 steps\); at least 2 are needed/],
    ['one.json', '{"data": {"sizes": {"train": 64}}, "model": {"batch": 32}, "train": {"swag": {"epochs": 1, "collectEvery": 2}}}', /collects 1 SWAG snapshot in 2 steps/],
    ['warmup.json', '{"train": {"warmupSteps": -1}}', /'train\.warmupSteps' must be a whole number ≥ 0, got -1/],
    ['decay.json', '{"train": {"weightDecay": -0.1}}', /'train\.weightDecay' must be ≥ 0, got -0\.1/],
    ['minlr.json', '{"train": {"minLr": -1}}', /'train\.minLr' must be ≥ 0, got -1/],
    ['swaglr.json', '{"train": {"swag": {"lr": -1}}}', /'train\.swag\.lr' must be positive, got -1/],
    ['clip.json', '{"train": {"clipNorm": 0}}', /'train\.clipNorm' must be positive, got 0/],
    ['seed.json', '{"train": {"seed": 1.5}}', /'train\.seed' must be a whole number, got 1\.5/],
    ['dataseed.json', '{"data": {"seed": 0.5}}', /'data\.seed' must be a whole number, got 0\.5/],
    ['beta.json', '{"train": {"beta2": 1}}', /'train\.beta2' must be in \[0, 1\), got 1/],
    ['eps.json', '{"train": {"eps": 0}}', /'train\.eps' must be positive, got 0/],
    ['collect.json', '{"train": {"swag": {"collect": "step"}}}', /'train\.swag\.collect' must be "steps" .* or "epoch"/],
    ['start.json', '{"train": {"swag": {"start": "first"}}}', /'train\.swag\.start' must be "last" .* or "best"/],
    ['divisor.json', '{"train": {"swag": {"anneal": {"epochs": 2, "divisor": 0.5}}}}', /'train\.swag\.anneal\.divisor' must be a number ≥ 1/],
    ['annealep.json', '{"train": {"swag": {"anneal": {"epochs": -1, "divisor": 2}}}}', /'train\.swag\.anneal\.epochs' must be a whole number ≥ 0/],
    ['seeds.json', '{"seeds": 0}', /'seeds' must be a positive whole number, got 0/],
    ['bins.json', '{"eceBins": [15, 0]}', /'eceBins\[1\]' must be a positive whole number, got 0/],
    ['perepoch.json', '{"data": {"sizes": {"train": 64}}, "model": {"batch": 32}, "train": {"swag": {"epochs": 1, "collect": "epoch"}}}', /'train\.swag\.epochs' \(1\) collects 1 SWAG snapshot with one per epoch/],
    ['name.json', '{"name": "../../x"}', /'name' must be a plain name .*got "\.\.\/\.\.\/x"/],
    ['nomodel.json', '{"model": {"file": "nowhere.swag"}}', /'model\.file': .*nowhere\.swag does not exist/],
    ['dirmodel.json', '{"model": {"file": "."}}', /'model\.file': .* is a directory, not a \.swag file/],
    ['letterspace.json', '{"data": {"task": "multiple-choice", "question": "q", "choices": "c", "answer": "a", "letterSpace": "yes"}}', /'data\.letterSpace' must be true or false, got "yes"/],
    ['letterclass.json', '{"data": {"letterSpace": true}}', /'data\.letterSpace' is for a multiple-choice task/],
    ['indexbase.json', '{"data": {"task": "multiple-choice", "question": "q", "choices": "c", "answer": "a", "answerIndexBase": 2}}', /'data\.answerIndexBase' must be 0 or 1, got 2/],
  ])('%s is rejected with a message naming the field', (name, text, message) => {
    const path = write(name, text);
    expect(() => readConfig(path)).toThrow(ConfigError);
    expect(() => readConfig(path)).toThrow(message);
  });
});
