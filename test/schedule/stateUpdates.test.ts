/**
 * State updates in place (schedule/lowerKernelGroup.ts): an output named like a state input is
 * written into the state when nothing reads the old value later (else copied there last);
 * consecutive updates are one kernel; a row write that cannot be in place copies its buffer first. Each program is run on the
 * device and compared with the interpreter.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, type Graph } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { programStats } from '../../compiler/emit/program.ts';
import { planInPlace } from '../../compiler/schedule/lowerKernelGroup.ts';
import { liveNodes } from '../../compiler/passes/deadCode.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError } from '../helpers/random.ts';
import { randomFeeds } from '../ir/randomFeeds.ts';
import { deviceOptions, runProgram } from '../program/run.ts';

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

async function matchesInterpreter(g: Graph, given: Record<string, number[]> = {}) {
  const device = await testDevice();
  const program = compileProgram(g, deviceOptions(device));
  const feeds = randomFeeds(g, 3, given);
  const want = evaluate(g, feeds);
  const got = await runProgram(device, program, feeds);
  for (const name of Object.keys(want)) expect(maxRelError(got[name]!, want[name]!), name).toBeLessThan(1e-5);
  return program;
}

describe('state updates', () => {
  it('two running means and a ring row are one kernel writing the state buffers', async () => {
    const g = graph((b) => {
      const x = b.input('x', [40]);
      const n = b.input('n', []);
      const avg = (name: string, e: ReturnType<typeof b.input>) => b.div(b.add(b.mul(n, b.state(name, [40])), e), b.add(n, 1));
      const m = avg('m', x);
      b.output('m', m);
      b.output('q', avg('q', b.mul(x, x)));
      b.output('R', b.writeRow(b.state('R', [3, 40]), b.sub(x, m), b.mod(n, 3)));
    });
    const p = await matchesInterpreter(g, { n: [5] });
    expect(programStats(p).steps).toBe(1);
    expect(p.outputs.map((o) => p.buffers[o.buffer]!.role)).toEqual(['state', 'state', 'state']);
  });

  it('is not in place when the old value is read after the update: the new value is copied into the state last', async () => {
    const g = graph((b) => {
      const s = b.state('s', [16]);
      const next = b.mul(s, 2);
      b.output('s', next);
      b.output('later', b.sum(b.matmul(b.reshape(s, [4, 4]), b.reshape(s, [4, 4]))));
    });
    expect(planInPlace(g, liveNodes(g)).size).toBe(0);
    const p = await matchesInterpreter(g);
    expect(p.buffers[p.outputs[0]!.buffer]!.role).toBe('state');
    expect(p.steps.at(-1)!.label).toMatch(/copy .* → state s$/);
  });

  it('a row write into a buffer that is not state copies the buffer, then writes the row', async () => {
    const g = graph((b) => {
      const buf = b.exp(b.input('a', [4, 10]));
      b.output('w', b.writeRow(buf, b.input('row', [10]), b.input('i', [])));
    });
    const p = await matchesInterpreter(g, { i: [2] });
    expect(p.steps.map((s) => s.label.split(' ')[0])).toEqual(['fusedElementwise', 'writeRow.copy', 'writeRow']);
  });
});
