/**
 * Dropout on the GPU draws the interpreter's mask: the kernels use Philox4x32-10 with the mapping
 * documented in compiler/codegen/wgsl/dropout.ts, and `philoxDropoutUniform` is its CPU twin.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate } from '../../compiler/ir/index.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { dropoutThreshold, philoxDropoutUniform } from '../../compiler/codegen/wgsl/dropout.ts';
import { randomUniformCpu } from '../../kernels/cpu/philox.ts';
import { testDevice } from '../helpers/device.ts';
import { randomArray } from '../helpers/random.ts';
import { deviceOptions, runProgram } from './run.ts';

describe('Philox dropout', () => {
  it('philoxDropoutUniform is the Philox generator with key (seed, 0), counter (i div 4, 0, stream, 0)', () => {
    const expected = randomUniformCpu(37, { key: [123456789, 0], stream: 5 });
    for (let i = 0; i < 37; i++) expect(philoxDropoutUniform(123456789, 5, i)).toBe(expected[i]);
    expect(philoxDropoutUniform(-1, 0, 3)).toBe(randomUniformCpu(4, { key: [0xffffffff, 0] })[3]);
  });

  it('the integer threshold keeps exactly the elements with u ≥ p', () => {
    const k = 1234567;
    const onGrid = (k + 0.5) / 2 ** 23;
    expect(dropoutThreshold(onGrid)).toBe(k);
    expect(dropoutThreshold(onGrid + 1e-12)).toBe(k + 1);
    expect(dropoutThreshold(onGrid - 1e-12)).toBe(k);
    expect(dropoutThreshold(0)).toBe(0);
    for (const p of [0.1, 0.25, 0.5, 0.9]) {
      for (let bits = 0; bits < 2 ** 23; bits += 4099) {
        const u = (bits + 0.5) / 2 ** 23;
        expect(bits >= dropoutThreshold(p), `p ${p} bits ${bits}`).toBe(u >= p);
      }
    }
  });

  it('GPU masks equal the interpreter\'s, through index remaps and for negative seeds', async () => {
    const device = await testDevice();
    const b = new GraphBuilder();
    const x = b.input('x', [33, 31]);
    const seed = b.input('seed', [], { dtype: 'i32' });
    b.output('plain', b.dropout(x, seed, { p: 0.3, stream: 7 }));
    // Dropout inside a fused kernel, read through a transpose: its index is its own element's.
    b.output('remapped', b.exp(b.transpose(b.dropout(x, seed, { p: 0.5, stream: 2 }), [1, 0])));
    const g = b.build();
    const data = randomArray(33 * 31, 4);
    for (const s of [42, -7]) {
      const feeds = { x: data, seed: [s] };
      const want = evaluate(g, feeds, { dropoutUniform: philoxDropoutUniform });
      const got = await runProgram(device, compileProgram(g, deviceOptions(device)), feeds);
      for (const name of ['plain', 'remapped']) {
        const w = want[name]!;
        const v = got[name]!;
        for (let i = 0; i < w.length; i++) {
          expect(v[i] === 0 || (name === 'remapped' && v[i] === 1), `${name}[${i}] dropped?`).toBe(w[i] === 0 || (name === 'remapped' && w[i] === 1));
          expect(Math.abs(v[i]! - w[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(w[i]!)));
        }
      }
      const kept = Array.from(got.plain!).filter((v) => v !== 0).length / got.plain!.length;
      expect(kept).toBeGreaterThan(0.62);
      expect(kept).toBeLessThan(0.78);
    }
  });
});
