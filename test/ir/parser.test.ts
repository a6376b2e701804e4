/**
 * parseGraph: printGraph's text back into a graph. Every graph the examples compile to (before
 * and after fusion) round-trips byte for byte and computes the same outputs; a pass test can
 * start from IR text and check the text that comes out, FileCheck-style, and the numbers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSourceFile } from '../../cli/commands/check.ts';
import { compileSwag } from '../../compiler/compile.ts';
import { IRError, evaluate, numel, parseGraph, printGraph, type Graph } from '../../compiler/ir/index.ts';
import { fuseMatmulEpilogue } from '../../compiler/passes/fuseMatmulEpilogue.ts';
import { randomFeeds, relativeError } from './randomFeeds.ts';

/**
 * FileCheck's core: every `CHECK: text` line must occur in `output`, in order, each on a line
 * after the previous match; `CHECK-NOT: text` must not occur between its neighbouring matches.
 */
function fileCheck(output: string, checks: string): void {
  const lines = output.split('\n');
  let at = 0;
  let forbidden: string[] = [];
  for (const raw of checks.trim().split('\n').map((l) => l.trim())) {
    const m = /^CHECK(-NOT)?: (.*)$/.exec(raw);
    if (!m) throw new Error(`not a check: ${raw}`);
    if (m[1]) {
      forbidden.push(m[2]!);
      continue;
    }
    const found = lines.findIndex((l, i) => i >= at && l.includes(m[2]!));
    expect(found, `CHECK: ${m[2]} (from line ${at + 1}) in\n${output}`).toBeGreaterThanOrEqual(0);
    for (const f of forbidden) expect(lines.slice(at, found).some((l) => l.includes(f)), `CHECK-NOT: ${f}\n${output}`).toBe(false);
    forbidden = [];
    at = found + 1;
  }
  for (const f of forbidden) expect(lines.slice(at).some((l) => l.includes(f)), `CHECK-NOT: ${f}\n${output}`).toBe(false);
}

function exampleGraphs(): [string, Graph][] {
  const out: [string, Graph][] = [];
  const compile = (file: string, dims: Record<string, number>) => {
    const r = compileSwag(readFileSync(file, 'utf8'), file, { target: 'cpu', dims, readFile: readSourceFile, splitFrozenPrefix: true });
    expect(r.ok, r.diagnostics.join('')).toBe(true);
    for (const u of r.units) {
      for (const [m, g] of Object.entries(u.graphs)) out.push([`${u.name}.${m}`, g!]);
      for (const [m, g] of Object.entries(u.fused)) out.push([`${u.name}.${m} (fused)`, g!]);
    }
  };
  compile('examples/lora.swag', { out: 6, in: 10, r: 2, n: 4 });
  compile('examples/mlp_classifier.swag', { features: 12, hidden: 8, classes: 3, n: 4, K: 3 });
  return out;
}

describe('parseGraph', () => {
  it('round-trips every example graph, before and after fusion, byte for byte', () => {
    const graphs = exampleGraphs();
    expect(graphs.length).toBeGreaterThan(10);
    expect(graphs.some(([, g]) => g.nodes.some((n) => n.op === 'fusedElementwise'))).toBe(true);
    for (const [name, g] of graphs) expect(printGraph(parseGraph(printGraph(g))), name).toBe(printGraph(g));
  });

  it('parsed graphs compute what the originals compute', () => {
    for (const [name, g] of exampleGraphs().filter(([n]) => /\.(forward|backward|prefix)/.test(n))) {
      // i32 inputs (labels, seeds): index 0 is valid for every one of them.
      const ints = Object.fromEntries(g.inputs.filter((i) => g.nodes[i.node]!.dtype === 'i32').map((i) => [i.name, new Int32Array(numel(g.nodes[i.node]!.shape))]));
      const feeds = randomFeeds(g, 3, ints);
      const want = evaluate(g, feeds);
      const got = evaluate(parseGraph(printGraph(g)), feeds);
      for (const out of Object.keys(want)) expect(relativeError(got[out]!, want[out]!), `${name} ${out}`).toBe(0);
    }
  });

  it('a pass test from IR text: fuseMatmulEpilogue folds the bias and the relu into the matmul', () => {
    const input = parseGraph(`
%0: f32[4, 8] = input "x"
%1: f32[6, 8] = frozen "W"
%2: f32[6] = param "b"
%3: f32[4, 6] = matmul(%0, %1) {transB: true}
%4: f32[4, 6] = add(%3, %2)
%5: f32[4, 6] = relu(%4)  # dense.swag:3:5
outputs: y = %5
`);
    const output = fuseMatmulEpilogue(input);
    fileCheck(printGraph(output), `
      CHECK: = input "x"
      CHECK-NOT: relu(
      CHECK: = fusedMatmul(%0, %1, %2) {transB: true, bias: true, activation: "relu"}  # dense.swag:3:5
      CHECK: outputs: y =
    `);
    const feeds = randomFeeds(input, 5);
    expect(relativeError(evaluate(output, feeds).y!, evaluate(input, feeds).y!)).toBeLessThan(1e-12);
  });

  it('names the line of bad text', () => {
    expect(() => parseGraph('%0: f32[2] = input "x"\n%1: f32[2] = frobnicate(%0)\noutputs: y = %1\n')).toThrow(/IR line 2: unknown op 'frobnicate'/);
    expect(() => parseGraph('%0: f32[2] = input "x"\n%1: f32[2] = relu(%7)\noutputs: y = %1\n')).toThrow(/IR line 2: %7 is not defined before %1/);
    expect(() => parseGraph('%0: f32[2] = input "x"\n')).toThrow(IRError);
    // Types are checked too: the verifier rejects a wrong declared shape.
    expect(() => parseGraph('%0: f32[2] = input "x"\n%1: f32[3] = relu(%0)\noutputs: y = %1\n')).toThrow();
  });
});
