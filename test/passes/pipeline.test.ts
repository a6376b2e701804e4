/** runPipeline: autodiff then fold → CSE → DCE rounds, with dumps between phases. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, differentiate, evaluate, printGraph, type Graph } from '../../compiler/ir/index.ts';
import { dumpToDirectory } from '../../compiler/pipeline.ts';
import { simplify as runPipeline } from '../../compiler/passes/simplify.ts';
import { randomFeeds, relativeError } from '../ir/randomFeeds.ts';

function lora(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [6, 8]);
  const w = b.frozen('W', [5, 8]);
  const a = b.param('A', [2, 8]);
  const bb = b.param('B', [5, 2]);
  const labels = b.input('labels', [6], { dtype: 'i32' });
  const seed = b.input('seed', [], { dtype: 'i32' });
  const xd = b.dropout(x, seed, { p: 0.1, stream: 0 });
  const y = b.add(b.matmul(x, w, { transB: true }), b.mul(b.matmul(b.matmul(xd, a, { transB: true }), bb, { transB: true }), 8 / 2));
  b.output('loss', b.crossEntropy(y, labels));
  return b.build();
}

const given = { labels: Int32Array.of(0, 1, 2, 3, 4, 0), seed: [5] };

describe('runPipeline', () => {
  it('differentiates and simplifies without changing any output', () => {
    const g = lora();
    const gradients = { loss: 'loss', wrt: ['A', 'B'] };
    const plain = differentiate(g, gradients);
    const optimised = runPipeline(g, { gradients });
    expect(optimised.nodes.length).toBeLessThan(plain.nodes.length);
    const feeds = randomFeeds(g, 9, given);
    const want = evaluate(plain, feeds);
    const got = evaluate(optimised, feeds);
    for (const name of ['loss', 'grad.A', 'grad.B']) expect(relativeError(got[name]!, want[name]!), name).toBeLessThan(1e-12);
  });

  it('dumps the IR after every phase, in order, and stops when a round changes nothing', () => {
    const phases: string[] = [];
    const out = runPipeline(lora(), { gradients: { loss: 'loss', wrt: ['B'] }, dump: (phase) => phases.push(phase) });
    expect(phases.slice(0, 5)).toEqual(['00-input', '01-autodiff', '02-constantFold', '03-cse', '04-dce']);
    expect(phases.length % 3).toBe(2);
    expect(phases.length).toBeLessThanOrEqual(2 + 3 * 4);
    expect(printGraph(runPipeline(out))).toBe(printGraph(out));
  });

  it('writes dumps to a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swaglet-ir-'));
    try {
      runPipeline(lora(), { dump: dumpToDirectory(dir) });
      const files = readdirSync(dir).sort();
      expect(files[0]).toBe('00-input.ir');
      expect(readFileSync(join(dir, files[0]!), 'utf8')).toBe(printGraph(lora()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
