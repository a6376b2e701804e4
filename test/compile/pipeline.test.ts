/**
 * compiler/pipeline.ts end to end: every stage dumps in order (`--dump-ir DIR`), `--emit ir`
 * prints the fused graph the kernels were built from, and the dumps are the very objects the
 * compiler returns (the last fuse dump is the fused IR, the layout dump is the Program).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSourceFile } from '../../cli/commands/check.ts';
import { compileSwag, irText } from '../../compiler/compile.ts';
import { printGraph } from '../../compiler/ir/index.ts';
import { FUSION_PASSES } from '../../compiler/pipeline.ts';
import { runCli } from '../helpers/cli.ts';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'swaglet-pipeline-'));
  tempDirs.push(dir);
  return dir;
};

const LORA = readFileSync('examples/lora.swag', 'utf8');
const DIMS = { out: 6, in: 10, r: 2, n: 4 };

describe('compiler pipeline', () => {
  it('dumps every stage of every method in order, ending with schedule, planMemory and layout', () => {
    const dumps = new Map<string, [string, string][]>();
    const r = compileSwag(LORA, 'examples/lora.swag', {
      target: 'cpu',
      dims: DIMS,
      dump: (unit, method) => {
        const list: [string, string][] = [];
        dumps.set(`${unit}.${method}`, list);
        return (stage, text) => list.push([stage, text]);
      },
    });
    expect(r.ok).toBe(true);
    expect([...dumps.keys()]).toEqual(['LoRA.forward', 'LoRA.backward']);
    const unit = r.units[0]!;
    for (const method of ['forward', 'backward'] as const) {
      const list = dumps.get(`LoRA.${method}`)!;
      const names = list.map(([s]) => s);
      // Numbered 00, 01, … in the order they ran.
      names.forEach((n, i) => expect(n.slice(0, 3)).toBe(`${String(i).padStart(2, '0')}-`));
      const stages = names.map((n) => n.slice(3));
      expect(stages[0]).toBe('simplify.input');
      expect(stages.slice(-3)).toEqual(['schedule', 'planMemory', 'layout']);
      expect(stages.filter((s) => s.startsWith('fuse.'))).toEqual(FUSION_PASSES.map((p) => `fuse.${p.name}`));
      // Stages appear in pipeline order.
      const firstOf = (prefix: string) => stages.findIndex((s) => s.startsWith(prefix));
      expect(firstOf('simplify.')).toBeLessThan(firstOf('fuse.'));
      expect(firstOf('fuse.')).toBeLessThan(firstOf('schedule'));
      // The last simplify dump is the simplified graph; the last fuse dump is the fused graph.
      const lastOf = (prefix: string) => list.filter(([s]) => s.slice(3).startsWith(prefix)).at(-1)![1];
      expect(lastOf('simplify.')).toBe(printGraph(unit.graphs[method]!));
      expect(lastOf('fuse.')).toBe(printGraph(unit.fused[method]!));
      expect(JSON.parse(lastOf('layout'))).toEqual(unit.methods[method]);
      // The schedule lists one launch per program step.
      expect(lastOf('schedule').split('\n').filter((l) => l.startsWith('launch ')).length).toBe(unit.methods[method]!.steps.length);
    }
  });

  it('--emit ir prints the fused graph, not the graph before fusion', () => {
    const r = compileSwag(LORA, 'examples/lora.swag', { target: 'cpu', dims: DIMS });
    const unit = r.units[0]!;
    const text = irText(r);
    expect(text).toContain(printGraph(unit.fused.forward!));
    expect(printGraph(unit.fused.forward!)).not.toBe(printGraph(unit.graphs.forward!));
    expect(text).toMatch(/fusedMatmul|fusedElementwise/);
  });

  /** The MLP classifier split at its frozen prefix, with the stage names each method dumped. */
  function splitMlp(extra: { draws?: { count: number } } = {}) {
    const text = readFileSync('examples/mlp_classifier.swag', 'utf8');
    const seen = new Map<string, string[]>();
    const r = compileSwag(text, 'examples/mlp_classifier.swag', {
      readFile: readSourceFile,
      target: 'cpu',
      splitFrozenPrefix: true,
      ...extra,
      dims: { features: 12, hidden: 8, classes: 3, n: 4, K: 3 },
      dump: (unit, method) => {
        const list: string[] = [];
        seen.set(`${unit}.${method}`, list);
        return (stage) => list.push(stage.slice(3));
      },
    });
    return { r, seen };
  }

  it('cuts at the frozen prefix as its own stage, and the prefix method starts from it', () => {
    const { r, seen } = splitMlp();
    expect(r.ok).toBe(true);
    const unit = r.units[0]!;
    expect(Object.keys(unit.methods)).toEqual(['prefix', 'forward', 'backward', 'collect', 'sample']);
    const prefix = seen.get(`${unit.name}.prefix`)!;
    expect(prefix[0]).toBe('splitFrozenPrefix');
    expect(prefix[1]).toBe('simplify.input');
    const forward = seen.get(`${unit.name}.forward`)!;
    const cut = forward.indexOf('splitFrozenPrefix');
    expect(cut).toBeGreaterThan(0);
    expect(forward.slice(0, cut).every((s) => s.startsWith('simplify.'))).toBe(true);
    expect(forward[cut + 1]).toBe('simplify.input');
  });

  it('batches the draws as its own stage after the prefix split, and drawsForward starts from it', () => {
    const { r, seen } = splitMlp({ draws: { count: 3 } });
    expect(r.ok).toBe(true);
    const unit = r.units[0]!;
    expect(Object.keys(unit.methods)).toEqual(['prefix', 'forward', 'drawsForward', 'backward', 'collect', 'sample']);
    const draws = seen.get(`${unit.name}.drawsForward`)!;
    expect(draws[0]).toBe('batchDraws');
    expect(draws[1]).toBe('simplify.input');
    expect(draws.slice(-3)).toEqual(['schedule', 'planMemory', 'layout']);
    expect(unit.graphs.drawsForward!.inputs.some((i) => i.name.startsWith('cache.'))).toBe(true);
  });

  it('swaglet compile --dump-ir DIR writes one folder per unit and method', async () => {
    const dir = tempDir();
    const r = await runCli('compile', 'examples/lora.swag', '--dump-ir', dir, '--target', 'cpu', '--dim', 'out=6', '--dim', 'in=10', '--dim', 'r=2', '--dim', 'n=4');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['LoRA.backward', 'LoRA.forward']);
    const files = readdirSync(join(dir, 'LoRA.forward')).sort();
    expect(files[0]).toBe('00-simplify.input.ir');
    expect(files.slice(-3).map((f) => f.slice(3))).toEqual(['schedule.txt', 'planMemory.txt', 'layout.json']);
    const fused = files.filter((f) => f.includes('-fuse.')).at(-1)!;
    const emitted = await runCli('compile', 'examples/lora.swag', '--emit', 'ir', '--target', 'cpu', '--dim', 'out=6', '--dim', 'in=10', '--dim', 'r=2', '--dim', 'n=4');
    expect(emitted.out).toContain(readFileSync(join(dir, 'LoRA.forward', fused), 'utf8'));
  });

  it('--dump-ir needs a directory', async () => {
    const r = await runCli('compile', 'examples/lora.swag', '--dump-ir', 'examples/lora.swag');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--dump-ir examples/lora.swag: expected a directory');
  });
});
