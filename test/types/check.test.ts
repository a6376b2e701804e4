import { describe, expect, it } from 'vitest';
import { type TypedExpr, checkSource, showType } from '../../compiler/index.ts';

function messages(src: string): string[] {
  return checkSource(src, 't.swag').diagnostics.map((d) => d.message);
}

/** Checks `fn forward(<params>) { return <expr> }` in a model with dims d, h, c and reports the result type or the errors. */
function typeOf(params: string, body: string, extra = ''): string {
  const src = `model M(d: dim, h: dim, c: dim) {
  dim dh = d / h
  ${extra}
  fn forward(${params}) {
    ${body.includes('return') ? body : `return ${body}`}
  }
}`;
  const r = checkSource(src, 't.swag');
  if (r.diagnostics.length) return r.diagnostics.map((x) => x.message).join(' | ');
  return showType(r.program.models[0]!.fns[0]!.returns);
}

describe('shapes through expressions', () => {
  it('unifies dims through @ and ^T', () => {
    expect(typeOf('x: [n, d], w: [c, d]', 'x @ w^T')).toBe('[n, c]');
    expect(typeOf('x: [b, t, d], y: [b, t, d]', 'x @ y^T')).toBe('[b, t, t]');
    expect(typeOf('z: [c], m: [c, d]', 'z @ m')).toBe('[d]');
    expect(typeOf('m: [c, d], v: [d]', 'm @ v')).toBe('[c]');
    expect(typeOf('x: [n, d], w: [c, d]', 'x @ w')).toBe('x @ w: [n, d] @ [c, d] — inner dimensions d ≠ c; did you mean w^T?');
    expect(typeOf('x: [d, n], w: [d, c]', 'x @ w')).toBe('x @ w: [d, n] @ [d, c] — inner dimensions n ≠ d; did you mean x^T?');
    expect(typeOf('x: [n, d], w: [d, c]', 'x @ w^T')).toBe('x @ w^T: [n, d] @ [c, d] — inner dimensions d ≠ c; did you mean w instead of w^T?');
    expect(typeOf('a: [b, n, d], w: [h, d, c]', 'a @ w')).toBe('a @ w: [b, n, d] @ [h, d, c] — batch dimensions b ≠ h');
    expect(typeOf('a: [b, n, d], w: [1, d, c]', 'a @ w')).toBe('[b, n, c]');
  });

  it('broadcasts elementwise ops from the right, over unit and missing dims', () => {
    expect(typeOf('x: [n, d], b: [d]', 'x + b')).toBe('[n, d]');
    expect(typeOf('x: [n, d], s: [n, 1]', 'x * s')).toBe('[n, d]');
    expect(typeOf('x: [b, 1, d], y: [t, 1]', 'x - y')).toBe('[b, t, d]');
    expect(typeOf('x: [n, d], b: [c]', 'x + b')).toBe('x + b: [n, d] + [c] — cannot broadcast d with c');
    expect(typeOf('x: [n, d]', '2 * x / h')).toBe('[n, d]');
    expect(typeOf('x: [n, d], y: [n, d]', 'max(x, y) + min(x, 0.5) + pow(x, 2)')).toBe('[n, d]');
  });

  it('reduces over an axis named by dim or index', () => {
    expect(typeOf('x: [b, t, d]', 'sum(x, axis: t)')).toBe('[b, d]');
    expect(typeOf('x: [b, t, d]', 'mean(x, axis: -1, keepdims: true)')).toBe('[b, t, 1]');
    expect(typeOf('x: [b, t, d]', 'max(x, axis: 0)')).toBe('[t, d]');
    expect(typeOf('x: [b, t, d]', 'sum(x)')).toBe('f32');
    expect(typeOf('x: [b, t, d]', 'sum(x, axis: c)')).toBe('sum(x, axis: c): [b, t, d] has no axis c');
    expect(typeOf('x: [b, t, t]', 'softmax(x, axis: t)')).toBe('softmax(x, axis: t): t is axis 1 and 2 of [b, t, t]; name the axis by index instead');
    expect(typeOf('x: [b, t]', 'sum(x, axis: 2)')).toBe('sum(x, axis: 2): axis 2 is out of range for [b, t]');
  });

  it('checks reshape as a product of dims, with derived dims', () => {
    expect(typeOf('x: [b, t, d]', 'reshape(x, [b, t, h, dh])')).toBe('[b, t, h, dh]');
    expect(typeOf('x: [b, t, d]', 'reshape(x, [b * t, d])')).toBe('[b * t, d]');
    expect(typeOf('x: [b, t, d]', 'reshape(x, [b, t, h, d])')).toBe('reshape(x, [b, t, h, d]): [b, t, d] has b * t * d elements but [b, t, h, d] has b * t * h * d');
    expect(typeOf('x: [b, t, h, dh]', 'permute(x, [b, h, t, dh])')).toBe('[b, h, t, dh]');
    expect(typeOf('x: [b, t, h, dh]', 'transpose(x, t, h)')).toBe('[b, h, t, dh]');
    expect(typeOf('x: [b, t, d], y: [b, t, c]', 'concat(x, y, axis: -1)')).toBe('[b, t, c + d]');
    expect(typeOf('x: [b, t, 3 * d]', 'slice(x, d, d)')).toBe('[b, t, d]');
    expect(typeOf('x: [b, t, d]', 'slice(x, d, d)')).toBe('slice(x, d, d): start + size = 2 * d exceeds d');
  });

  it('keeps i32 and f32 apart', () => {
    expect(typeOf('ids: i32[b, t]', 'embedding(table, ids)', 'frozen table: [c, d]')).toBe('[b, t, d]');
    expect(typeOf('ids: i32[b, t]', 'ids + 1')).toBe('i32[b, t]');
    expect(typeOf('ids: i32[b, t], x: [b, t]', 'x + ids')).toBe('x + ids: [b, t] + i32[b, t] — element types differ (f32 vs i32); convert with to_f32(ids)');
    expect(typeOf('ids: i32[b, t], x: [b, t]', 'x + to_f32(ids)')).toBe('[b, t]');
    expect(typeOf('m: [b, t]', 'embedding(table, m)', 'frozen table: [c, d]')).toBe('embedding(table, m): ids must be i32, but m is [b, t]');
    expect(typeOf('ids: i32[b, t]', 'exp(ids)')).toBe('exp(ids): x must be f32, but ids is i32[b, t]; convert with to_f32(...)');
  });

  it('types scalars made of parameters and dims', () => {
    expect(typeOf('x: [n, d]', 'x * (alpha / sqrt(h))', '')).toMatch(/unknown name alpha/);
    const src = `adapter A(r: dim, alpha: f32 = 16) on linear(W: [o, i]) {
  param B: [o, i] = zeros
  fn forward(x: [n, i]) -> [n, o] { return x @ (W + alpha / r * B)^T }
}`;
    expect(messages(src)).toEqual([]);
  });

  it('names unknown things with a did-you-mean', () => {
    expect(typeOf('x: [n, d]', 'relu(xx)')).toBe('unknown name xx');
    expect(typeOf('input: [n, d]', 'relu(inptu)')).toBe('unknown name inptu; did you mean input?');
    expect(typeOf('x: [n, d]', 'tanhh(x)')).toBe('unknown op tanhh; did you mean tanh?');
    expect(typeOf('x: [n, d]', 'softmax(x, axs: -1)')).toBe('softmax has no argument named axs; did you mean axis?; usage: softmax(x, axis: -1)');
    expect(typeOf('x: [n, d]', 'sqrt(x, x)')).toBe('sqrt takes 1 argument but 2 were given; usage: sqrt(x)');
    expect(typeOf('x: [n, d]', 'layer_norm(x)')).toBe('layer_norm takes 3 to 4 arguments but 1 was given; usage: layer_norm(x, gamma, beta, eps: 1e-5)');
    expect(typeOf('x: [n, dd]', 'x')).toBe('[n, dd]');
    expect(typeOf('x: [n, d]', 'return x', 'param w: [c, dhh] = zeros')).toBe('unbound dimension dhh; did you mean dh?');
  });

  it('checks let annotations and declared results', () => {
    expect(typeOf('x: [n, d]', 'let y: [n, d] = relu(x)\n return y')).toBe('[n, d]');
    expect(typeOf('x: [n, d]', 'let y: [n, c] = relu(x)\n return y')).toBe('y is declared [n, c] but its value is [n, d]');
    expect(typeOf('x: [n, d]', 'let y = x\n let y = sum(y, axis: d)\n return y')).toBe('[n]');
    expect(typeOf('x: [n, d]', 'return x\n return x')).toBe('unreachable: nothing after return is run');
  });
});

describe('fns and blocks', () => {
  it('binds a callee\'s dims from its arguments', () => {
    const src = `block Layer(w: dim) {
  linear q: [2 * w, w] + bias
  fn forward(x: [b, t, w]) -> [b, t, 2 * w] { return q(x) }
}
model M(d: dim) {
  block layers.0 = Layer(w: d)
  block layers.1 = Layer(w: 2 * d)
  fn twice(x: [b, s, k]) -> [b, s, k] { return x + x }
  fn forward(x: [n, s, d]) -> [n, s, 4 * d] {
    let y = layers.1(layers.0(twice(x)))
    return y + layers.1.q.bias
  }
}`;
    const r = checkSource(src, 't.swag');
    expect(r.diagnostics.map((d) => d.message)).toEqual([]);
    const model = r.program.models[0]!;
    expect(model.flat.linears.map((l) => `${l.path}: [${l.out.text}, ${l.in.text}]`)).toEqual(['layers.0.q: [2 * d, d]', 'layers.1.q: [4 * d, 2 * d]']);
    const ret = model.fns.find((f) => f.name === 'forward')!.body[0]!;
    const call = (ret.value as TypedExpr & { kind: 'call' });
    expect(call.callee).toEqual({ kind: 'block', path: 'layers.1', block: 'Layer', fn: 'forward' });
    expect(Object.fromEntries(Object.entries(call.bindings).map(([k, v]) => [k, v.text]))).toEqual({ w: '2 * d', b: 'n', t: 's' });
  });

  it('reports a wrong argument shape with the callee\'s expectation', () => {
    const src = `model M(d: dim, e: dim) {
  fn g(x: [b, d], m: [b]) -> [b, d] { return x }
  fn forward(x: [n, d], y: [n, e]) -> [n, d] { return g(x, sum(y, axis: n)) }
}`;
    expect(messages(src)).toEqual(['g: argument m must be [n] but sum(y, axis: n) is [e] — n ≠ e']);
  });

  it('needs the arguments a block declares', () => {
    const src = `block L(w: dim, k: dim) { linear q: [k, w] }
model M(d: dim) { block l = L(w: d, kk: 2) fn forward(x: [n, d]) -> [n, d] { return x } }`;
    expect(messages(src)).toEqual(['block L has no parameter kk']);
    expect(messages(src.replace('kk: 2', 'widht: 2').replace('k: dim', 'width: dim').replace('[k, w]', '[width, w]'))).toEqual(['block L has no parameter widht; did you mean width?']);
  });
});

describe('adapters', () => {
  it('requires forward(x: [n, in]) -> [n, out] and initializers', () => {
    expect(messages('adapter A(r: dim) on linear(W: [o, i]) { param P: [r, i] }')).toEqual([
      'adapter A needs fn forward(x: [n, in]) -> [n, out]: what replaces x @ W^T',
      'param P needs an initializer, such as = zeros or = normal(std: 0.02)',
    ]);
    expect(messages('adapter A on linear(W: [o, i]) { fn forward(x: [n, o]) -> [n, o] { return x } }')).toEqual([
      "an adapter's forward takes one input, the rows of the layer's input: x: [n, i]",
    ]);
    expect(messages('adapter A on linear(W: [o, i]) { frozen F: [o] fn forward(x: [n, i]) -> [n, o] { return x @ W^T } }')).toEqual([
      'frozen F needs an initializer: an adapter has no checkpoint to load it from (use a seeded one, e.g. normal(seed: 0))',
    ]);
  });

  it('checks initializer expressions against the declared type', () => {
    const base = (init: string) => `adapter A on linear(W: [o, i]) { param m: [o] = ${init} fn forward(x: [n, i]) -> [n, o] { return x @ W^T } }`;
    expect(messages(base('row_norm(W)'))).toEqual([]);
    expect(messages(base('row_norm(W^T)'))).toEqual(['m is [o] but its initializer row_norm(W^T) is [i]']);
    expect(messages(base('kaiming_uniform(b: 1)'))).toEqual(['kaiming_uniform has no argument named b; usage: kaiming_uniform(a: sqrt(5), seed: …)']);
    expect(messages(base('normal(std: 0.1, seed: 1.5)'))).toEqual(['normal: seed must be a whole number']);
    expect(messages(base('zeros(1)'))).toEqual(['zeros takes 0 arguments but 1 was given; usage: zeros']);
  });

  it('records the typed output the next stage needs', () => {
    const r = checkSource(
      `adapter LoRA(r: dim, alpha: f32 = 16) on linear(W: [out, in]) {
  param A: [r, in] = kaiming_uniform(a: sqrt(5), seed: 3)
  param B: [out, r] = zeros
  fn forward(x: [n, in]) -> [n, out] { return x @ W^T + (alpha / r) * ((x @ A^T) @ B^T) }
}`,
      't.swag',
    );
    expect(r.diagnostics).toEqual([]);
    const a = r.program.adapters[0]!;
    expect(a.params).toEqual([
      { name: 'r', kind: 'dim' },
      { name: 'alpha', kind: 'scalar', elem: 'f32', default: 16 },
    ]);
    expect(a.tensors.map((t) => [t.path, t.trainable, showType(t.type), t.init])).toEqual([
      ['A', true, '[r, in]', { kind: 'builtin', name: 'kaiming_uniform', options: { a: Math.sqrt(5), seed: 3 } }],
      ['B', true, '[out, r]', { kind: 'builtin', name: 'zeros', options: {} }],
    ]);
    const ret = a.fns[0]!.body[0]!.value;
    expect(ret).toMatchObject({ kind: 'op', op: 'add', args: [{ op: 'matmul', args: [{ ref: { kind: 'input', name: 'x' } }, { op: 'transpose', attrs: { perm: [1, 0] }, args: [{ ref: { kind: 'target', name: 'W' } }] }] }, { op: 'mul' }] });
    expect(showType(ret.type)).toBe('[n, out]');
    expect(r.program.ops.map((o) => o.op)).toEqual(['add', 'div', 'kaiming_uniform', 'matmul', 'mul', 'transpose', 'zeros']);
  });
});

describe('posteriors', () => {
  it('types statistics and the sampler', () => {
    const r = checkSource(
      `posterior SWAG(K: dim = 20, scale: f32 = 0.5) over params {
  stat mean = average(theta)
  stat D = last(K, theta - mean)
  sample(z1: normal, z2: normal[K]) = mean + sqrt(scale) * z1 + (z2 @ D) / sqrt(K - 1)
}`,
      't.swag',
    );
    expect(r.diagnostics).toEqual([]);
    const p = r.program.posteriors[0]!;
    expect(p.stats.map((s) => [s.name, s.reduce, showType(s.type)])).toEqual([
      ['mean', 'average', '[p]'],
      ['D', 'last', '[K, p]'],
    ]);
    expect(p.noise.map((z) => [z.name, showType(z.type)])).toEqual([
      ['z1', '[p]'],
      ['z2', '[K]'],
    ]);
  });

  it('types the statistics of a posterior over linears in each map\'s sizes rows, in, out', () => {
    const r = checkSource(
      `posterior Kfac(K: dim = 3) over linears posthoc {
  stat A = total(input^T @ input)
  stat G = average(output_grad^T @ output_grad)
  stat cross = last(K, input^T @ output_grad)
}`,
      't.swag',
    );
    expect(r.diagnostics).toEqual([]);
    const p = r.program.posteriors[0]!;
    expect(p.over).toBe('linears');
    expect(p.posthoc).toBe(true);
    expect(p.sample).toBeUndefined();
    expect(p.stats.map((s) => [s.name, s.reduce, showType(s.type)])).toEqual([
      ['A', 'total', '[in, in]'],
      ['G', 'average', '[out, out]'],
      ['cross', 'last', '[K, in, out]'],
    ]);
    expect(messages('posterior Kfac(in: dim) over linears posthoc { stat A = total(input^T @ input) }')).toEqual([
      'in is built in: in a posterior over linears, input: [rows, in] is the rows a linear map reads and output_grad: [rows, out] the gradient at its output',
    ]);
    expect(messages('posterior Kfac over linears posthoc { stat A = total(input^T @ input) }\nposterior Diag over params posthoc { stat f = total(grad * grad) sample(z: normal) = z / sqrt(f + output_grad) }')).toEqual([
      "output_grad is not available in sample: it is read only by the statistics of a posterior over linears ('over linears posthoc')",
    ]);
  });

  it('reports malformed posteriors', () => {
    expect(messages('posterior P over weights { stat m = sum(theta) sample(z: gaussian) = m }')).toEqual([
      "a posterior is over the trainable parameters ('over params') or over each trainable linear map ('over linears posthoc'), not 'over weights'",
      'a stat is average(e) (a running mean), total(e) (a running sum) or last(K, e) (the last K values); m is none of them',
      'unknown distribution gaussian: draws are standard normal, written z: normal or z: normal[K]',
    ]);
    expect(messages('posterior P(K: dim) over params { stat D = last(K, theta) sample(z: normal[K]) = z }')).toEqual(['a sample must be a parameter vector [p], but this is [K]']);
    expect(messages('posterior P over params { stat m = average(theta) }')).toEqual(['posterior P needs a sample rule, such as sample(z: normal) = mean + ...']);
    expect(messages('posterior P over params { stat m = average(average(theta)) sample() = m }')).toEqual([
      'average is a statistic: it can only be the whole value of a stat in a posterior',
    ]);
  });
});

describe('finetunes', () => {
  const lib = `adapter LoRA(r: dim, alpha: f32 = 16) on linear(W: [out, in]) {
  param A: [r, in] = zeros
  param B: [out, r] = zeros
  fn forward(x: [n, in]) -> [n, out] { return x @ W^T + (alpha / r) * ((x @ A^T) @ B^T) }
}
posterior SWA over params { stat mean = average(theta) sample() = mean }
block L(d: dim) {
  linear attn.qkv: [3 * d, d] + bias
  linear ffn.up: [2 * d, d]
  fn forward(x: [n, d]) -> [n, 3 * d] { return attn.qkv(x) }
}
model M(d: dim = 4, c: dim) {
  block layers.0 = L(d: d)
  block layers.1 = L(d: d)
  linear head: [c, d]
  param bias: [c] = zeros
  fn forward(x: [n, d]) -> [n, c] { return head(x) + bias }
}
`;

  it('attaches adapters by pattern and lays out theta', () => {
    const r = checkSource(`${lib}finetune F = M(c: 3) {\n  adapt "layers.*.attn.qkv" with LoRA(r: 2)\n  adapt "*.up" with LoRA(r: 1)\n  posterior SWA\n}`, 't.swag');
    expect(r.diagnostics.map((d) => d.message)).toEqual([]);
    const f = r.program.finetunes[0]!;
    expect(f.attachments.map((a) => `${a.layer} r=${a.dims.r!.text} out=${a.dims.out!.text}`)).toEqual([
      'layers.0.attn.qkv r=2 out=12',
      'layers.1.attn.qkv r=2 out=12',
      'layers.0.ffn.up r=1 out=8',
      'layers.1.ffn.up r=1 out=8',
    ]);
    expect(f.theta.entries.map((e) => `${e.path}${showType(e.type)}`)).toEqual([
      'layers.0.attn.qkv.A[2, 4]',
      'layers.0.attn.qkv.B[12, 2]',
      'layers.1.attn.qkv.A[2, 4]',
      'layers.1.attn.qkv.B[12, 2]',
      'layers.0.ffn.up.A[1, 4]',
      'layers.0.ffn.up.B[8, 1]',
      'layers.1.ffn.up.A[1, 4]',
      'layers.1.ffn.up.B[8, 1]',
      'bias[3]',
    ]);
    expect(f.theta.size.text).toBe(String(2 * (8 + 24) + 2 * (4 + 8) + 3));
    expect(f.posterior).toEqual({ name: 'SWA', dims: {}, scalars: {} });
  });

  it('leaves sizes not given symbolic', () => {
    const r = checkSource(`${lib}finetune F = M { adapt "head" with LoRA(r: 2) }`, 't.swag');
    expect(r.diagnostics).toEqual([]);
    expect(r.program.finetunes[0]!.theta.size.text).toBe('3 * c + 8');
  });

  it('reports patterns that match nothing, layers adapted twice, and unknown names', () => {
    const r = checkSource(
      `${lib}finetune F = M(c: 3, e: 1) {\n  adapt "layers.*.atn.qkv", "*" with LoRA(r: 2)\n  adapt "head" with LoRa(r: 2)\n  posterior SWAG\n}`,
      't.swag',
    );
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'model M has no parameter e',
    ]);
    const r2 = checkSource(`${lib}finetune F = M(c: 3) {\n  adapt "layers.*.atn.qkv", "*" with LoRA(r: 2)\n  adapt "head" with LoRa(r: 2)\n  posterior SWAG\n}`, 't.swag');
    expect(r2.diagnostics.map((d) => d.message)).toEqual([
      '"layers.*.atn.qkv" matches no linear layer of M; did you mean "layers.*.attn.qkv"?',
      'layer head is already adapted',
      'unknown adapter LoRa; did you mean LoRA?',
      'unknown posterior SWAG; did you mean SWA?',
    ]);
    expect(r2.diagnostics[0]!.notes![0]!.message).toBe('the linear layers of M are layers.0.attn.qkv, layers.0.ffn.up, layers.1.attn.qkv, layers.1.ffn.up, head');
  });
});

describe('imports', () => {
  it('resolves imports relative to the importing file', () => {
    const files: Record<string, string> = { 'lib/a.swag': 'import "b.swag"', 'lib/b.swag': 'posterior SWA over params { stat m = average(theta) sample() = m }' };
    const r = checkSource('import "lib/a.swag"\nmodel M(d: dim) { fn forward(x: [n, d]) -> [n, d] { return x } }\nfinetune F = M { posterior SWA }', 'main.swag', { readFile: (p) => files[p] });
    expect(r.diagnostics).toEqual([]);
    expect([...r.sources.keys()]).toEqual(['main.swag', 'lib/a.swag', 'lib/b.swag']);
    const missing = checkSource('import "nope.swag"', 'main.swag', { readFile: () => undefined });
    expect(missing.diagnostics.map((d) => d.message)).toEqual(['cannot find the imported file nope.swag (looked for nope.swag)']);
  });

  it('reports errors in imported files with their own file name', () => {
    const r = checkSource('import "x.swag"', 'main.swag', { readFile: () => 'model M {' });
    expect(r.diagnostics[0]!.span.file).toBe('x.swag');
  });
});
