import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';

/*
 * Every file in test/fixtures/bad has one deliberate mistake (two_* files have two); the stderr of
 * `swaglet check FILE` must equal FILE.expected exactly. UPDATE_GOLDEN=1 rewrites the .expected
 * files (then review the diff).
 */
const DIR = 'test/fixtures/bad';
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.swag'))
  .sort();

async function checkOutput(file: string): Promise<{ code: number; err: string; out: string }> {
  let err = '';
  let out = '';
  const code = await main(['check', file], { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, err, out };
}

describe('diagnostics for broken programs (golden files)', () => {
  it('has a fixture for each kind of mistake', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(12);
  });

  for (const f of fixtures) {
    it(f, async () => {
      const file = join(DIR, f);
      const { code, err, out } = await checkOutput(file);
      const expectedFile = file.replace(/\.swag$/, '.expected');
      if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, err);
      expect(code).toBe(1);
      expect(out).toBe('');
      expect(err).toBe(readFileSync(expectedFile, 'utf8'));
      // Every error line has the file:line:col: error: form and a caret under it.
      const lines = err.split('\n');
      lines.forEach((l, i) => {
        if (/^\S+:\d+:\d+: error: /.test(l)) expect(lines[i + 2]).toMatch(/^\s*\^~*$/);
      });
    });
  }

  it('reports both mistakes of a file with two', async () => {
    for (const f of fixtures.filter((x) => x.startsWith('two_'))) {
      const { err } = await checkOutput(join(DIR, f));
      expect(err.match(/: error: /g)).toHaveLength(2);
    }
  });
});
