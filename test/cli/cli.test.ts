import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const run = runCli;

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function temp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'swaglet-cli-'));
  tempDirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('swaglet check', () => {
  it('exits 0 and says how many files were clean', async () => {
    const r = await run('check', 'examples/lora.swag', 'examples/use_lite_classifier.swag');
    expect(r).toEqual({ code: 0, out: '2 files checked, no errors\n', err: '' });
  });

  it('exits 1 with file:line:col: error: message, the line and a caret', async () => {
    const r = await run('check', 'test/fixtures/bad/matmul_shape.swag');
    expect(r.code).toBe(1);
    expect(r.err.split('\n').slice(0, 3)).toEqual([
      'test/fixtures/bad/matmul_shape.swag:7:37: error: x @ A: [n, in] @ [r, in] — inner dimensions in ≠ r; did you mean A^T?',
      '    return x @ W^T + (alpha / r) * ((x @ A) @ B^T)',
      '                                    ^~~~~~~',
    ]);
    expect(r.err).toMatch(/\n1 error\n$/);
  });

  it('checks every file given and counts all errors', async () => {
    const r = await run('check', 'test/fixtures/bad/unknown_op.swag', 'examples/lora.swag', 'test/fixtures/bad/two_type_errors.swag');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\n3 errors\n$/);
  });

  it('exits 2 for usage errors', async () => {
    expect((await run('check')).code).toBe(2);
    const missing = await run('check', 'no/such/file.swag');
    expect(missing).toMatchObject({ code: 2, err: 'swaglet check: cannot read no/such/file.swag: no such file\nusage: swaglet check FILE...\n' });
    expect((await run('check', '--strict', 'examples/lora.swag')).code).toBe(2);
  });

  it('reports errors in imported files at their place', async () => {
    const lib = temp('lib.swag', 'posterior P over params { stat m = average(theta) sample() = m + }\n');
    const main = join(lib, '..', 'main.swag');
    writeFileSync(main, 'import "lib.swag"\n');
    const r = await run('check', main);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(lib, '..', 'lib.swag')}:1:66: error: expected an expression but found '}'`);
  });

  it('never prints a stack trace for user input', async () => {
    for (const text of ['(((((', 'model M { fn f(x: [n]) { return x @ x } }', '\u0000\u0001', '"', 'finetune F = X { adapt "*" with Y }']) {
      const r = await run('check', temp('x.swag', text));
      expect(r.code).toBe(1);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(r.err).toMatch(/^\S+:\d+:\d+: error: /);
    }
  });
});

describe('swaglet fmt', () => {
  it('prints the formatted file', async () => {
    const r = await run('fmt', temp('f.swag', 'model M(d:dim){fn forward(x:[n,d])->[n,d]{return x}}'));
    expect(r).toEqual({ code: 0, err: '', out: 'model M(d: dim) {\n  fn forward(x: [n, d]) -> [n, d] {\n    return x\n  }\n}\n' });
  });

  it('--check exits 1 when a file is not formatted, 0 when it is', async () => {
    const file = temp('f.swag', 'model M {}');
    const r = await run('fmt', '--check', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain('not formatted');
    expect((await run('fmt', '--check', 'examples/lora.swag', 'examples/swag.swag')).code).toBe(0);
  });

  it('--write rewrites the file in place, and then it is formatted', async () => {
    const file = temp('f.swag', '// keep me\nmodel M {   }\n');
    expect((await run('fmt', '--write', file)).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('// keep me\nmodel M {\n}\n');
    expect((await run('fmt', '--check', file)).code).toBe(0);
  });

  it('exits 1 with the syntax errors of a file it cannot format', async () => {
    const file = temp('f.swag', 'model M {');
    const r = await run('fmt', file);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain("1:10: error: expected '}' but found the end of the file");
  });

  it('exits 2 for usage errors', async () => {
    expect((await run('fmt')).code).toBe(2);
    expect((await run('fmt', '--write', '--check', 'examples/lora.swag')).code).toBe(2);
    expect((await run('fmt', 'examples/lora.swag', 'examples/vera.swag')).code).toBe(2);
    expect((await run('fmt', '--indent=4', 'examples/lora.swag')).code).toBe(2);
  });
});
