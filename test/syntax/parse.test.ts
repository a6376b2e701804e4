import { describe, expect, it } from 'vitest';
import type { BinaryExpr, BlockDecl, CallExpr, Expr, FnMember, ReturnStmt } from '../../compiler/index.ts';
import { parse, printExpr } from '../../compiler/index.ts';
import { stripSpans } from './fuzz-harness.ts';

/** The expression of `return <src>` inside a minimal model. */
function expr(src: string): Expr {
  const r = parse(`model M { fn f() { return ${src} } }`, 't.swag');
  expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  const fn = (r.ast.decls[0] as BlockDecl).members[0] as FnMember;
  return (fn.body[0] as ReturnStmt).value;
}

/** Fully parenthesized rendering, to see the tree's shape. */
function shape(e: Expr): string {
  switch (e.kind) {
    case 'binary':
      return `(${shape(e.left)} ${e.op} ${shape(e.right)})`;
    case 'neg':
      return `(-${shape(e.operand)})`;
    case 'transpose':
      return `${shape(e.operand)}^T`;
    case 'call':
      return `${e.callee.text}(${e.args.map((a) => (a.name ? `${a.name.name}: ` : '') + shape(a.value)).join(', ')})`;
    case 'list':
      return `[${e.items.map(shape).join(', ')}]`;
    default:
      return printExpr(e);
  }
}

describe('expressions', () => {
  it('binds @ like * and tighter than +, left to right', () => {
    expect(shape(expr('x @ W^T + s * x @ A^T @ B^T'))).toBe('((x @ W^T) + (((s * x) @ A^T) @ B^T))');
    expect(shape(expr('a - b - c'))).toBe('((a - b) - c)');
    expect(shape(expr('a / b * c'))).toBe('((a / b) * c)');
  });

  it('binds unary minus tighter than * and looser than ^T', () => {
    expect(shape(expr('-a * b'))).toBe('((-a) * b)');
    expect(shape(expr('-x^T'))).toBe('(-x^T)');
    expect(shape(expr('2 * -x'))).toBe('(2 * (-x))');
  });

  it('parses calls with positional and named arguments, lists and dotted paths', () => {
    expect(shape(expr('softmax(s + b, axis: -1)'))).toBe('softmax((s + b), axis: (-1))');
    expect(shape(expr('reshape(x, [b, t, h, d / h])'))).toBe('reshape(x, [b, t, h, (d / h)])');
    const call = expr('layers.0.attn.qkv(x)') as CallExpr;
    expect(call.callee.segments).toEqual(['layers', '0', 'attn', 'qkv']);
    expect(shape(expr('layers.10.w + 1.5e-3'))).toBe('(layers.10.w + 1.5e-3)');
  });

  it('remembers parentheses and the spelling of numbers', () => {
    const e = expr('(alpha / r) * 0.50') as BinaryExpr;
    expect(e.left.parens).toBe(true);
    expect(e.right).toMatchObject({ kind: 'number', value: 0.5, text: '0.50', isInt: false });
  });
});

describe('declarations', () => {
  it('parses an adapter with parameters, a target and members', () => {
    const r = parse(
      `adapter LoRA(r: dim, alpha: f32 = 16) on linear(W: [out, in]) {
  param A: [r, in] = kaiming_uniform(a: sqrt(5))
  frozen S: i32[r] = zeros
  dim r2 = 2 * r
  fn forward(x: [n, in]) -> [n, out] {
    let u: [n, r] = x @ A^T
    return u
  }
}`,
      'lora.swag',
    );
    expect(r.diagnostics).toEqual([]);
    const a = r.ast.decls[0]!;
    expect(a.kind).toBe('adapter');
    if (a.kind !== 'adapter') return;
    expect(a.params.map((p) => [p.name.name, p.type.kind])).toEqual([
      ['r', 'dim'],
      ['alpha', 'tensor'],
    ]);
    expect(a.target.weight.name).toBe('W');
    expect(a.members.map((m) => m.kind)).toEqual(['param', 'frozen', 'dim', 'fn']);
    expect(stripSpans(a.members[1])).toMatchObject({ type: { kind: 'tensor', elem: 'i32', shape: [{ kind: 'name' }] } });
  });

  it('parses models, blocks, instances, posteriors, finetunes and imports', () => {
    const r = parse(
      `import "lora.swag"
block L(d: dim) { linear q: [3 * d, d] + bias }
model M(d: dim = 8) { block layers.0 = L(d: d) param head.w: [d] = zeros }
posterior P(K: dim = 2) over params { stat m = average(theta) sample(z1: normal, z2: normal[K]) = m }
finetune F = M(d: 4) { adapt "layers.*.q", "x" with LoRA(r: 2) posterior P(K: 3) }`,
      'all.swag',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.ast.decls.map((d) => d.kind)).toEqual(['import', 'block', 'model', 'posterior', 'finetune']);
    const f = r.ast.decls[4]!;
    if (f.kind !== 'finetune') throw new Error();
    expect(f.members[0]).toMatchObject({ kind: 'adapt', targets: [{ pattern: 'layers.*.q' }, { pattern: 'x' }], adapter: { name: 'LoRA' } });
    const p = r.ast.decls[3]!;
    if (p.kind !== 'posterior') throw new Error();
    expect(p.members[1]).toMatchObject({ kind: 'sample', params: [{ name: { name: 'z1' }, dist: { name: 'normal' } }, { name: { name: 'z2' } }] });
  });

  it('gives every node a span, with 1-based lines and columns', () => {
    const r = parse('model M {\n  fn f(x: [n]) {\n    return x\n  }\n}\n', 'm.swag');
    const fn = (r.ast.decls[0] as BlockDecl).members[0] as FnMember;
    const ret = fn.body[0]!;
    expect(ret.span).toEqual({ file: 'm.swag', start: { line: 3, col: 5, offset: 31 }, end: { line: 3, col: 13, offset: 39 } });
    expect(r.ast.decls[0]!.span.end.line).toBe(5);
  });

  it('keeps comments', () => {
    const r = parse('// top\nmodel M { // trailing\n}\n', 'c.swag');
    expect(r.comments.map((c) => [c.text, c.span.start.line])).toEqual([
      ['// top', 1],
      ['// trailing', 2],
    ]);
  });
});

describe('syntax errors', () => {
  it('reports every error in a file, with spans, and suggests keywords', () => {
    const r = parse(
      `adapter A(r: dim) on linear(W: [o, i]) {
  parm P: [r] = zeros
  fn forward(x: [n, i]) -> [n, o] {
    retrun x
  }
}
modle M { }
posterior P over params { stat m = average(theta }
`,
      'e.swag',
    );
    expect(r.diagnostics.map((d) => `${d.span.start.line}:${d.span.start.col} ${d.message}`)).toEqual([
      "2:3 expected a member (param, frozen, linear, block, dim or fn) but found 'parm'; did you mean 'param'?",
      "4:5 expected a statement (let or return) but found 'retrun'; did you mean 'return'?",
      "7:1 expected a declaration (adapter, block, model, posterior, finetune or import) but found 'modle'; did you mean 'model'?",
      "8:50 expected ')' but found '}'",
    ]);
  });

  it('hints at let for an assignment', () => {
    const r = parse('model M { fn f(x: [n]) { x = x\n return x } }', 'a.swag');
    expect(r.diagnostics[0]!.message).toMatch(/bind a new name with 'let x = \.\.\.'/);
  });

  it('reports lexer errors and goes on', () => {
    const r = parse('model M { fn f(x: [n]) { return x # y } }\nmodel N { fn g(x: [n]) { return x^2 } }', 'l.swag');
    expect(r.diagnostics.map((d) => d.message)).toContain("unexpected character '#'");
    expect(r.diagnostics.map((d) => d.message)).toContain("unexpected character '^': write x^T to transpose, pow(x, y) for a power");
  });

  it('points a missing token at the end of the line before', () => {
    const r = parse('model M(d: dim\n  fn f() { return 1 }\n}', 'p.swag');
    expect(r.diagnostics[0]).toMatchObject({ message: "expected ')' but found 'fn'", span: { start: { line: 1, col: 15 } } });
  });

  it('refuses input nested too deeply instead of overflowing the stack', () => {
    const deep = parse(`model M { fn f(x: [n]) { return ${'('.repeat(500)}x${')'.repeat(500)} } }`, 'd.swag');
    expect(deep.diagnostics[0]!.message).toMatch(/nested more than 100 deep/);
    const long = parse(`model M { fn f(x: [n]) { return x${' + x'.repeat(2000)} } }`, 'd.swag');
    expect(long.diagnostics[0]!.message).toMatch(/nested more than 400 levels/);
  });

  it('never throws on odd text', () => {
    for (const text of ['', '}', '{{{', '"', 'adapter', 'model M(', '@@@', '\u0000', '😀', 'fn f() {}', 'import', 'model M { fn f() { return ] } }']) {
      expect(() => parse(text, 'x.swag')).not.toThrow();
    }
  });
});
