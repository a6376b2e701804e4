/**
 * What goes wrong once sizes are known comes back as an error value naming the dim (or the
 * request's mistake) and where it came from — never as an exception.
 */
import { describe, expect, it } from 'vitest';
import { formatLowerDiagnostic, lowerProgram, type LowerRequest } from '../../compiler/lower/index.ts';
import type { CheckedProgram } from '../../compiler/index.ts';
import { USE_DIMS, checked, example } from './helpers.ts';

function fails(program: CheckedProgram, req: LowerRequest): { code: string; message: string; where?: string } {
  const r = lowerProgram(program, req);
  if (r.ok) throw new Error('expected the lowering to fail');
  expect(r.errors).toHaveLength(1);
  const e = r.errors[0]!;
  return { code: e.code, message: e.message, ...(e.span ? { where: `${e.span.file}:${e.span.start.line}` } : {}) };
}

const lora = { kind: 'adapter', name: 'LoRA', linear: { out: 5, in: 7 } } as const;

describe('unbound dims', () => {
  it('an adapter rank nobody gives', () => {
    const e = fails(example('lora.swag'), { ...lora, dims: { n: 4 } });
    expect(e.code).toBe('unbound-dim');
    expect(e.message).toBe('the size r of adapter LoRA has no value: it has no default and nothing gives it (looked in the request); bind it in the request: dims: { r: … }');
    expect(e.where).toBe('examples/lora.swag:4');
  });

  it('the per-call row count of forward', () => {
    const e = fails(example('lora.swag'), { ...lora, dims: { r: 3 } });
    expect(e).toEqual({
      code: 'unbound-dim',
      message: 'the size n of fn forward of adapter LoRA varies per call and has no value; bind it in the request: dims: { n: … }',
      where: 'examples/lora.swag:8',
    });
  });

  it('a model size without a default that the request leaves out', () => {
    const { classes: _, ...dims } = USE_DIMS;
    const e = fails(example('use_lite_classifier.swag'), { kind: 'model', name: 'UseLite', dims });
    expect(e.code).toBe('unbound-dim');
    expect(e.message).toMatch(/^the size classes of model UseLite has no value/);
  });
});

describe('inexact divisions', () => {
  it('dh = d / h with d = 10, h = 3 names the dim, the sizes and where they came from', () => {
    const e = fails(example('use_lite_classifier.swag'), { kind: 'finetune', name: 'UseLiteSwag', dims: { ...USE_DIMS, d1: 10, h: 3 } });
    expect(e).toEqual({
      code: 'inexact-division',
      message:
        'dim dh = d / h of block SelfAttention at layers.0.attn is not a whole number: d = 10 (instance layers.0.attn: d1, from the request), h = 3 (instance layers.0.attn: h, from the request); the division by h must be exact',
      where: 'examples/use_lite_classifier.swag:67',
    });
  });

  it('half = d1 / 2 of the model itself', () => {
    const e = fails(example('use_lite_classifier.swag'), { kind: 'finetune', name: 'UseLiteSwag', dims: { ...USE_DIMS, d1: 9, h: 3 } });
    expect(e.code).toBe('inexact-division');
    expect(e.message).toMatch(/^dim half = d1 \/ 2 of model UseLite is not a whole number: d1 = 9 \(the request\)/);
  });
});

describe('bad requests', () => {
  it('sizes must be positive whole numbers', () => {
    expect(fails(example('lora.swag'), { ...lora, dims: { r: 3, n: 0 } }).code).toBe('bad-size');
    expect(fails(example('lora.swag'), { ...lora, dims: { r: 2.5, n: 4 } }).message).toMatch(/the size r to 2.5/);
  });

  it('a misspelled size is reported with the names there are', () => {
    const e = fails(example('mlp_classifier.swag'), { kind: 'finetune', name: 'MlpSwag', dims: { hiden: 3, n: 2 } });
    expect(e.message).toBe('the request gives hiden in dims for finetune MlpSwag (model MlpClassifier), which has no such name (it has features, hidden, classes, n)');
  });

  it('an unknown entry', () => {
    expect(fails(example('lora.swag'), { ...lora, name: 'Lora', dims: { r: 3, n: 4 } }).message).toBe('no adapter Lora; the program has LoRA');
    expect(fails(example('swag.swag'), { kind: 'posterior', name: 'Swag', p: 4 }).message).toMatch(/^no posterior Swag/);
  });

  it('a weight that does not fit the adapter’s target pattern', () => {
    const program = checked(`adapter Square(r: dim) on linear(W: [d, d]) {
  param A: [r, d] = zeros
  fn forward(x: [n, d]) -> [n, d] {
    return x @ W^T + (x @ A^T) @ A
  }
}
`);
    const e = fails(program, { kind: 'adapter', name: 'Square', linear: { out: 5, in: 7 }, dims: { r: 2, n: 3 } });
    expect(e.message).toBe('adapter Square needs W: [d, d] = [5, 5], but the linear shape of the request is [5, 7]');
  });

  it('a name the lowering needs for its own inputs', () => {
    const program = checked(`model M(d: dim = 3) {
  param labels: [d] = zeros
  fn forward(x: [n, d]) -> [n, d] {
    return x + labels
  }
}
`);
    const e = fails(program, { kind: 'model', name: 'M', dims: { n: 2 } });
    expect(e.message).toBe('the tensor labels has the name of an input the lowering adds (seed, labels, target, cotangent); rename it');
    expect(e.where).toBe('examples/test.swag:2');
  });

  it('a sample rule dividing by K − 1 with K = 1 is refused', () => {
    const program = checked('posterior P(K: dim = 2) over params {\n  stat D = last(K, theta)\n  sample(z: normal[K]) = sqrt(1 / (K - 1)) * (z @ D)\n}\n', 'p.swag');
    const e = fails(program, { kind: 'posterior', name: 'P', p: 4, dims: { K: 1 } });
    expect(e.code).toBe('unsupported');
    expect(e.message).toMatch(/evaluates to Infinity/);
    expect(e.where).toBe('p.swag:3');
  });

  it('SWAG with K = 1 lowers: its rule has no low-rank part below two filled rows', () => {
    const r = lowerProgram(example('swag.swag'), { kind: 'posterior', name: 'SWAG', p: 4, dims: { K: 1 } });
    expect(r.ok).toBe(true);
  });
});

describe('what the IR cannot express yet', () => {
  it('i32 arithmetic', () => {
    const program = checked(`model Ids(v: dim = 5, d: dim = 3) {
  frozen table: [v, d]
  fn forward(ids: i32[b]) -> [b, d] {
    return embedding(table, ids + 1)
  }
}
`);
    const e = fails(program, { kind: 'model', name: 'Ids', dims: { b: 2 } });
    expect(e.code).toBe('unsupported');
    expect(e.message).toBe('add on i32 values: the IR computes in f32 only; convert with to_f32(...)');
    expect(e.where).toBe('examples/test.swag:4');
  });

  it('a dropout rate that is not a constant', () => {
    const program = checked(`adapter Odd(r: dim) on linear(W: [out, in]) {
  param A: [out, in] = zeros
  fn forward(x: [n, in]) -> [n, out] {
    return dropout(x, sum(x)) @ (W + A)^T
  }
}
`);
    const res = lowerProgram(program, { kind: 'adapter', name: 'Odd', linear: { out: 2, in: 3 }, dims: { r: 1, n: 2 } });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.errors[0]!.code).toBe('unsupported');
    expect(formatLowerDiagnostic(res.errors[0]!)).toMatch(/^examples\/test.swag:4:\d+: error: dropout needs a rate known at compile time/);
  });
});
