/**
 * Experiment configs: the shipped ones read clean; a bad one gets a message that names the file
 * and the field, never a stack trace or a silently ignored typo.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../experiment/config.ts';

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

  it.each([
    ['typo.json', '{"sampels": 10}', /typo\.json: unknown field 'sampels' \(known: .*samples/],
    ['nested.json', '{"train": {"swag": {"every": 3}}}', /unknown field 'train\.swag\.every'/],
    ['type.json', '{"runs": "3"}', /'runs' must be a number, got "3"/],
    ['zero.json', '{"runs": 0}', /'runs' must be a positive whole number, got 0/],
    ['small.json', '{"data": {"train": 8}, "model": {"batch": 32}}', /'data\.train' \(8\) is smaller than one batch \(32\)/],
    ['broken.json', '{"runs": 3', /broken\.json: not valid JSON/],
    ['array.json', '[1, 2]', /the config must be a JSON object/],
  ])('%s is rejected with a message naming the field', (name, text, message) => {
    const path = write(name, text);
    expect(() => readConfig(path)).toThrow(ConfigError);
    expect(() => readConfig(path)).toThrow(message);
  });
});
