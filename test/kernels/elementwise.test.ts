import { describe, expect, it } from 'vitest';
import {
  BINARY_OPS, type BinaryOp, type ExprNode, UNARY_OPS, type UnaryOp,
  binary, broadcastShapes, broadcastStrides, collapseLayout, elementwiseExpr, elementwiseWgsl, inputAccess, unary, validateExpr,
} from '../../kernels/elementwise.ts';
import { binaryCpu, broadcastMapCpu, evalExprCpu, unaryCpu } from '../../kernels/cpu/elementwise.ts';
import { ShapeError } from '../../runtime/errors.ts';
import { testDevice } from '../helpers/device.ts';
import { maxRelError, randomArray, rng } from '../helpers/random.ts';

const SIZES = [1, 7, 97, 131, 3001];

/** Inputs inside each op's domain, with a few extremes where the op must stay finite and exact. */
function unaryInput(op: UnaryOp, n: number, seed: number): Float32Array {
  const x = randomArray(n, seed);
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (op === 'log' || op === 'sqrt' || op === 'rsqrt') x[i] = 0.01 + Math.abs(v) * 5;
    else if (op === 'reciprocal') x[i] = Math.sign(v || 1) * (0.1 + Math.abs(v));
    else if (op === 'exp') x[i] = v * 10;
    else if (op === 'sin' || op === 'cos') x[i] = v * Math.PI;
    else x[i] = v * 6;
  }
  if (op === 'tanh' || op === 'sigmoid' || op === 'gelu' || op === 'relu' || op === 'abs' || op === 'neg') {
    const extremes = [1e-4, -1e-4, 0.3999, 0.4, 100, -100, 1e4, -1e4, 0];
    extremes.slice(0, n).forEach((v, i) => (x[i] = v));
  }
  return x;
}

describe('broadcasting', () => {
  it('follows numpy rules and names both shapes when they clash', () => {
    expect(broadcastShapes([[7, 1], [1, 97]])).toEqual([7, 97]);
    expect(broadcastShapes([[2, 3, 4], [4], []])).toEqual([2, 3, 4]);
    expect(() => broadcastShapes([[2, 3], [4]])).toThrow(ShapeError);
    expect(() => broadcastShapes([[2, 3], [4]])).toThrow(/\[2, 3\] and \[4\]/);
    expect(() => broadcastStrides([3, 2], [2, 3])).toThrow(/\[3, 2\].*\[2, 3\]/);
    expect(broadcastStrides([3, 1], [2, 3, 5])).toEqual([0, 1, 0]);
  });

  it('collapses dimensions every input walks alike', () => {
    const same = collapseLayout([2, 3, 4], [[12, 4, 1], [12, 4, 1]]);
    expect(same.shape).toEqual([24]);
    expect(inputAccess(same, 0)).toBe('same');
    const row = collapseLayout([2, 3, 4], [[12, 4, 1], [0, 0, 1]]);
    expect(row).toEqual({ shape: [6, 4], strides: [[4, 1], [0, 1]] });
    expect(inputAccess(row, 1)).toBe('strided');
    expect(inputAccess(collapseLayout([5, 6], [[6, 1], [0, 0]]), 1)).toBe('scalar');
    expect(collapseLayout([1, 1], [[0, 0]]).shape).toEqual([1]);
  });

  it('generates byte-stable kernel text that depends on the config only', () => {
    const config = { expr: '(a + b)', names: ['a', 'b'], access: ['same', 'strided'] as const, rank: 2, scalarCount: 0, inPlace: -1, workgroupSize: 256 };
    const text = elementwiseWgsl({ ...config, access: [...config.access] });
    expect(elementwiseWgsl({ ...config, access: ['same', 'strided'] })).toBe(text);
    expect(text).toContain('out[i] = (a + b);');
    expect(text).not.toMatch(/\b97\b/);
  });

  it('rejects expressions that are not pure arithmetic over known names', () => {
    expect(() => validateExpr('a + b; }', ['a', 'b'])).toThrow(/unexpected ';'/);
    expect(() => validateExpr('a + z', ['a'])).toThrow(/unknown name 'z'/);
    expect(() => validateExpr('exp((a)', ['a'])).toThrow(/unbalanced/);
    expect(() => validateExpr('select(a, -a, a < 0.0) * 2.5e-3', ['a'])).not.toThrow();
  });
});

describe('unary maps', () => {
  for (const op of UNARY_OPS) {
    it(`${op} matches the CPU reference`, async () => {
      const device = await testDevice();
      const options = op === 'scale' ? { scale: -2.5 } : op === 'affine' ? { scale: 0.5, shift: 3 } : {};
      const cases = SIZES.map((n, k) => {
        const x = unaryInput(op, n, 100 * k + n);
        return { x, y: unary(device, device.tensor([n], x), op, options) };
      });
      for (const { x, y } of cases) {
        const actual = await device.read(await y);
        expect(maxRelError(actual, unaryCpu(op, x, options)), `${op} on ${x.length} elements`).toBeLessThan(1e-4);
      }
    });
  }
});

describe('unary accuracy where built-ins fall short', () => {
  it('keeps tanh, gelu and sigmoid relatively accurate near 0 and finite at ±1e4', async () => {
    const device = await testDevice();
    // llvmpipe's built-in tanh is off by 2e-4 (relative) at 1e-4; the op's own tanh is not.
    const small = Float32Array.from({ length: 97 }, (_, i) => (i % 2 ? 1 : -1) * 10 ** (-1 - (i % 7)));
    for (const op of ['tanh', 'gelu'] as const) {
      const y = await device.read(await unary(device, device.tensor([97], small), op));
      const expected = unaryCpu(op, small);
      for (let i = 0; i < 97; i++) expect(Math.abs(y[i]! - expected[i]!) / Math.abs(expected[i]!), `${op}(${small[i]})`).toBeLessThan(1e-5);
    }
    const big = [1e4, -1e4, 100, -100, 88.8, -88.8, 1e38, -1e38];
    for (const op of ['tanh', 'sigmoid', 'gelu'] as const) {
      const y = await device.read(await unary(device, device.tensor([big.length], big), op));
      // Exact up to values that underflow to f32 denormals, which GPUs may flush to zero.
      expect(y.every(Number.isFinite), op).toBe(true);
      expect(maxRelError(y, unaryCpu(op, big)), op).toBeLessThan(1e-6);
    }
  });
});

describe('binary maps with broadcasting', () => {
  const shapes: [number[], number[]][] = [
    [[1], [1]],
    [[97], [97]],
    [[7, 131], [131]],
    [[7, 1], [1, 97]],
    [[3001], []],
    [[2, 3, 4, 5, 6, 7], [3, 1, 5, 1, 7]],
    [[5, 1], [2, 1, 13]],
  ];
  for (const op of BINARY_OPS) {
    it(`${op} matches the CPU reference`, async () => {
      const device = await testDevice();
      const cases = shapes.map(([sa, sb], k) => {
        const a = { data: randomArray(sa.reduce((p, d) => p * d, 1), 7 * k + 1, 2), shape: sa };
        const b = { data: randomArray(sb.reduce((p, d) => p * d, 1), 7 * k + 2, 2), shape: sb };
        if (op === 'div') b.data = b.data.map((v) => Math.sign(v || 1) * (0.25 + Math.abs(v)));
        if (op === 'pow') {
          // Positive bases with real exponents; negative bases only with integer exponents.
          a.data = a.data.map((v, i) => (i % 3 === 0 ? v : 0.1 + Math.abs(v)));
          b.data = b.data.map((v, i) => (i % 3 === 0 ? Math.round(v * 2) : v));
          if (b.data.length !== a.data.length) a.data = a.data.map((v) => 0.1 + Math.abs(v));
        }
        return { a, b, y: binary(device, device.tensor(sa, a.data), device.tensor(sb, b.data), op as BinaryOp) };
      });
      for (const { a, b, y } of cases) {
        const out = await y;
        const expected = binaryCpu(op, a, b);
        expect(out.shape).toEqual(expected.shape);
        expect(maxRelError(await device.read(out), expected.data), `${op} ${a.shape} ${b.shape}`).toBeLessThan(1e-4);
      }
    });
  }

  it('throws ShapeError naming both shapes', async () => {
    const device = await testDevice();
    const a = device.zeros([2, 3]);
    const b = device.zeros([4]);
    await expect(binary(device, a, b, 'add')).rejects.toThrow(ShapeError);
    await expect(binary(device, a, b, 'add')).rejects.toThrow(/\[2, 3\] and \[4\]/);
  });
});

describe('fused elementwise expressions', () => {
  it('evaluates (a + b) * c with each input broadcast its own way', async () => {
    const device = await testDevice();
    const sa = [4, 1, 131], sb = [7, 1], sc = [131], outShape = [4, 7, 131];
    const a = randomArray(4 * 131, 1), b = randomArray(7, 2), c = randomArray(131, 3);
    const y = await elementwiseExpr(device, {
      inputs: [device.tensor(sa, a), device.tensor(sb, b), device.tensor(sc, c)],
      expr: '(a + b) * c',
      outShape,
    });
    const expected = broadcastMapCpu([{ data: a, shape: sa }, { data: b, shape: sb }, { data: c, shape: sc }], outShape, (x, u, v) => (x! + u!) * v!);
    expect(maxRelError(await device.read(y), expected)).toBeLessThan(1e-4);
  });

  it('renders an op tree with uniform scalars and matches the CPU evaluation', async () => {
    const device = await testDevice();
    // gelu(a·s0 + s1) · sigmoid(b) − tanh(a)²
    const tree: ExprNode = {
      op: 'sub',
      a: { op: 'mul', a: { op: 'gelu', x: { op: 'affine', x: 'a', scalars: ['s0', 's1'] } }, b: { op: 'sigmoid', x: 'b' } },
      b: { op: 'square', x: { op: 'tanh', x: 'a' } },
    };
    const n = 97;
    const a = randomArray(n, 5, 3), b = randomArray(n, 6, 3);
    for (const [s0, s1] of [[1.5, -0.25], [-2, 0.5]] as const) {
      const y = await elementwiseExpr(device, { inputs: [device.tensor([n], a), device.tensor([n], b)], expr: tree, scalars: [s0, s1] });
      const expected = Float32Array.from(a, (v, i) => evalExprCpu(tree, { a: v, b: b[i]!, s0, s1 }));
      expect(maxRelError(await device.read(y), expected)).toBeLessThan(1e-4);
    }
  });

  it('updates in place through a single read_write binding', async () => {
    const device = await testDevice();
    const n = 3001;
    const x = randomArray(n, 8), g = randomArray(n, 9);
    const tx = device.tensor([n], x);
    // An SGD step: x ← x − lr·g.
    await elementwiseExpr(device, { inputs: [tx, device.tensor([n], g)], expr: 'a - s0 * b', scalars: [0.1], out: tx });
    expect(maxRelError(await device.read(tx), x.map((v, i) => v - 0.1 * g[i]!))).toBeLessThan(1e-4);
  });

  it('handles 6-d strided broadcasts on random shapes', async () => {
    const device = await testDevice();
    const r = rng(42);
    for (let trial = 0; trial < 4; trial++) {
      const outShape = Array.from({ length: 6 }, () => 1 + Math.floor(r() * 4));
      const sa = outShape.map((d) => (r() < 0.4 ? 1 : d));
      const sb = outShape.slice(2 + Math.floor(r() * 3)).map((d) => (r() < 0.4 ? 1 : d));
      const na = sa.reduce((p, d) => p * d, 1), nb = sb.reduce((p, d) => p * d, 1);
      const a = randomArray(na, trial), b = randomArray(nb, trial + 50);
      const y = await elementwiseExpr(device, { inputs: [device.tensor(sa, a), device.tensor(sb, b)], expr: 'max(a, b) - min(a, b) * 0.5', outShape });
      const expected = broadcastMapCpu([{ data: a, shape: sa }, { data: b, shape: sb }], outShape, (u, v) => Math.max(u!, v!) - Math.min(u!, v!) * 0.5);
      expect(maxRelError(await device.read(y), expected), `${sa} ${sb} → ${outShape}`).toBeLessThan(1e-4);
    }
  });

  it('takes input names of the caller’s choosing, but not ones the kernel uses', async () => {
    const device = await testDevice();
    const x = randomArray(7, 1), w = randomArray(7, 2);
    const y = await elementwiseExpr(device, { inputs: [device.tensor([7], x), device.tensor([7], w)], names: ['x', 'w'], expr: 'x * w + 1.0' });
    expect(maxRelError(await device.read(y), x.map((v, i) => v * w[i]! + 1))).toBeLessThan(1e-6);
    for (const bad of ['exp', 'c0', 's1', 'params', 'in_x', 'X']) {
      await expect(elementwiseExpr(device, { inputs: [device.zeros([7])], names: [bad], expr: '1.0' }), bad).rejects.toThrow(/cannot name an input/);
    }
  });

  it('rejects an input that does not broadcast to outShape, naming both shapes', async () => {
    const device = await testDevice();
    await expect(elementwiseExpr(device, { inputs: [device.zeros([3, 2])], expr: 'a', outShape: [2, 3] })).rejects.toThrow(/\[3, 2\].*\[2, 3\]/);
  });
});
