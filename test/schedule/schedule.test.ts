/** scheduleGraph: aliases, reduction passes, matmul batching and configs, grids, long id lists. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, type Graph } from '../../compiler/ir/index.ts';
import { shapeClassKey } from '../../kernels/matmul/autotune.ts';
import { configName, type MatmulConfig } from '../../kernels/matmul/config.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { SCATTER_CHUNK } from '../../compiler/codegen/wgsl/indexing.ts';
import { scheduleGraph } from '../../compiler/schedule/schedule.ts';
import { launchAccess } from '../../compiler/schedule/types.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray } from '../helpers/random.ts';
import { deviceOptions, runProgram } from '../program/run.ts';

function graph(build: (b: GraphBuilder) => void): Graph {
  const b = new GraphBuilder();
  build(b);
  return b.build();
}

const labels = (g: Graph) => scheduleGraph(g).launches.map((l) => l.label);

describe('scheduleGraph', () => {
  it('gives every input a buffer, aliases reshapes, and names outputs', () => {
    const g = graph((b) => {
      const x = b.input('x', [4, 6]);
      b.input('unused', [3]);
      b.output('y', b.reshape(b.exp(x), [24]));
      b.output('x2', b.reshape(x, [6, 4]));
    });
    const s = scheduleGraph(g);
    expect(s.launches.map((l) => l.label)).toEqual(['exp %2']);
    expect(s.buffers.map((b) => [b.name, b.role])).toEqual([['x', 'input'], ['unused', 'input'], ['y', 'output']]);
    expect(s.outputs).toEqual([
      { name: 'y', buffer: 2, shape: [24], dtype: 'f32' },
      { name: 'x2', buffer: 0, shape: [6, 4], dtype: 'f32' },
    ]);
  });

  it('reduces separated axes in one pass each, and extent-1 axes not at all', () => {
    const g = graph((b) => {
      const x = b.input('x', [3, 1, 4, 5]);
      b.output('a', b.mean(x, [0, 3]));
      b.output('b', b.sum(x, [0, 1, 2]));
      b.output('c', b.reduceMax(x, [1], { keepDims: true }));
    });
    expect(labels(g)).toEqual(['mean.pass0 %1', 'mean.pass1 %1', 'sum.pass0 %2']);
  });

  it('folds a batch that only A has into M, and keeps a real batch', () => {
    const g = graph((b) => {
      const x = b.input('x', [3, 7, 5]);
      b.output('y', b.matmul(x, b.input('W', [4, 5]), { transB: true }));
      b.output('z', b.matmul(x, b.input('V', [3, 5, 2])));
    });
    const s = scheduleGraph(g);
    const params = (k: number) => new Uint32Array((s.launches[k]!.args.at(-1) as { uniform: Uint8Array }).uniform.buffer);
    expect([params(0)[0], params(0)[4]]).toEqual([21, 1]); // M = 3·7, batch 1
    expect([params(1)[0], params(1)[4]]).toEqual([7, 3]);
  });

  it('uses the autotuner\'s config for a shape class when given one', () => {
    const g = graph((b) => b.output('y', b.matmul(b.input('x', [16, 8]), b.input('W', [12, 8]), { transB: true })));
    const tuned: MatmulConfig = { kind: 'register', workgroupX: 8, workgroupY: 8, tileM: 8, tileN: 8, tileK: 4, vec4: true };
    const key = shapeClassKey({ M: 16, N: 12, K: 8, K2: 0, batch: 1, transA: false, transB: true });
    const s = scheduleGraph(g, { matmulConfigs: { [key]: tuned } });
    expect(s.launches[0]!.spec.label).toContain(configName(tuned));
  });

  it('folds grids beyond 65,535 workgroups into y', () => {
    const n = 256 * 70000;
    const g = graph((b) => b.output('y', b.neg(b.input('x', [n]))));
    const [launch] = scheduleGraph(g).launches;
    const [x, y, z] = launch!.workgroups;
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y * z).toBeGreaterThanOrEqual(70000);
  });

  it('never lets a launch write a buffer it reads', () => {
    const g = graph((b) => {
      const x = b.input('x', [4, 4]);
      b.output('y', b.matmul(b.exp(x), b.softmax(b.matmul(x, x))));
    });
    for (const l of scheduleGraph(g).launches) {
      const { reads, writes } = launchAccess(l);
      expect(writes.some((w) => reads.includes(w))).toBe(false);
    }
  });

  it('runs scatterAdd over more ids than one invocation may loop over, and long rows', async () => {
    const device = await testDevice();
    const n = SCATTER_CHUNK * 2 + 5;
    const g = graph((b) => {
      const ids = b.input('ids', [n], { dtype: 'i32' });
      b.output('table', b.scatterAdd(b.input('u', [n, 2]), ids, 3));
      const wide = b.input('wide', [3, 1500]);
      b.output('ln', b.layerNorm(wide, b.input('g', [1500]), b.input('be', [1500])));
      b.output('sm', b.softmax(wide, 1));
      b.output('lsm', b.logSoftmax(b.input('tall', [1200, 3]), 0));
    });
    const feeds = {
      ids: Int32Array.from({ length: n }, (_, i) => (i * 7) % 3),
      u: randomArray(n * 2, 1),
      wide: randomArray(4500, 2, 3),
      g: randomArray(1500, 3),
      be: randomArray(1500, 4),
      tall: randomArray(3600, 5, 4),
    };
    const program = compileProgram(g, deviceOptions(device));
    expect(program.steps.filter((s) => s.label.startsWith('scatterAdd')).length).toBe(4); // 3 chunks + their sum
    const got = await runProgram(device, program, feeds);
    const want = evaluate(g, feeds);
    for (const name of ['table', 'ln', 'sm', 'lsm']) expect(maxRelError(got[name]!, want[name]!), name).toBeLessThan(1e-4);
  });
});
