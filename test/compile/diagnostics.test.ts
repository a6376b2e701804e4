/**
 * One Diagnostic type from the parser to the API: compileSwag returns its problems as values with
 * their spans (`problems`), and `diagnostics` is exactly their formatted text; the live API throws
 * a CompileError carrying them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSourceFile } from '../../cli/commands/check.ts';
import { compileSwag } from '../../compiler/compile.ts';
import { formatDiagnostic } from '../../compiler/syntax/diagnostic.ts';
import { CompileError, compile } from '../../swaglet.ts';
import { testDevice } from '../helpers/device.ts';

const BAD = 'adapter Bad(r: dim) on linear(W: [out, in]) {\n  param A: [r, in] = zeros\n  fn forward(x: [n, in]) -> [n, out] {\n    return x @ A^T\n  }\n}\n';

describe('diagnostics through the API', () => {
  it('a checker error keeps its span, and the text is its formatting', () => {
    const r = compileSwag(BAD, 'bad.swag');
    expect(r.ok).toBe(false);
    expect(r.problems.length).toBe(r.diagnostics.length);
    const d = r.problems[0]!;
    expect(d.severity).toBe('error');
    expect(d.span?.file).toBe('bad.swag');
    expect(d.span?.start.line).toBe(4);
    r.problems.forEach((p, i) => expect(r.diagnostics[i]).toBe(formatDiagnostic(p, BAD)));
    expect(r.diagnostics[0]).toMatch(/^bad\.swag:4:\d+: error: /);
  });

  it('a lowering error keeps its code and span; a request error names the file', () => {
    const text = readFileSync('examples/use_lite_classifier.swag', 'utf8');
    const r = compileSwag(text, 'examples/use_lite_classifier.swag', { readFile: readSourceFile, entries: ['UseLite'], dims: { b: 1, t: 2 } });
    expect(r.ok).toBe(false);
    const unbound = r.problems.find((p) => p.code === 'unbound-dim')!;
    expect(unbound.span?.file).toBe('examples/use_lite_classifier.swag');
    expect(unbound.message).toMatch(/has no value/);

    const stray = compileSwag(readFileSync('examples/lora.swag', 'utf8'), 'examples/lora.swag', { dims: { zz: 3 } });
    expect(stray.problems).toEqual([{ severity: 'error', file: 'examples/lora.swag', message: '--dim zz: no entry compiled (LoRA) has a size named zz' }]);
    expect(stray.diagnostics).toEqual(['examples/lora.swag: error: --dim zz: no entry compiled (LoRA) has a size named zz\n']);
  });

  it('compile() throws a CompileError carrying the diagnostics', async () => {
    const device = await testDevice();
    const thrown = await compile(BAD, { device, file: 'bad.swag' }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(CompileError);
    const e = thrown as CompileError;
    expect(e.message).toMatch(/^bad\.swag:4:\d+: error: /);
    expect(e.diagnostics[0]!.span?.start.line).toBe(4);
  });
});
