import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { format, formatSource, parse } from '../../compiler/index.ts';
import { stripSpans } from './fuzz-harness.ts';

const examples = readdirSync('examples').filter((f) => f.endsWith('.swag'));

function fmt(text: string): string {
  const r = formatSource(text, 'f.swag');
  expect(r.diagnostics).toEqual([]);
  return r.text;
}

describe('fmt', () => {
  for (const f of examples) {
    it(`leaves ${f} as it is (the examples are formatted) and round-trips it`, () => {
      const text = readFileSync(`examples/${f}`, 'utf8');
      const parsed = parse(text, f);
      expect(format(parsed.ast, parsed.comments)).toBe(text);
      expect(stripSpans(parse(fmt(text), f).ast)).toEqual(stripSpans(parsed.ast));
    });
  }

  it('lays out a messy file canonically, keeping every comment', () => {
    const messy = `// head
adapter   X(r:dim,a:f32=1.0)on linear(W:[o,i]){param A:[r,i]=zeros   // A
  // B next


  param B:[o,r]=normal(std:0.02,seed:1)
fn forward(x:[n,i])->[n,o]{let y=x@W^T
return y+(a/r)*((x@A^T)@B^T) // done
// end of body
}}
finetune F=M{adapt "a","b"with X(r:2)posterior SWA}
// tail`;
    const out = fmt(messy);
    expect(out).toBe(`// head
adapter X(r: dim, a: f32 = 1.0) on linear(W: [o, i]) {
  param A: [r, i] = zeros // A
  // B next

  param B: [o, r] = normal(std: 0.02, seed: 1)
  fn forward(x: [n, i]) -> [n, o] {
    let y = x @ W^T
    return y + (a / r) * ((x @ A^T) @ B^T) // done
    // end of body
  }
}

finetune F = M {
  adapt "a", "b" with X(r: 2)
  posterior SWA
}
// tail
`);
    expect(fmt(out)).toBe(out);
  });

  it('breaks a long sum before its + and - operands', () => {
    const long = `posterior P over params { sample(z: normal) = aaaaaaaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb * z - ccccccccccccccccccccccccccccccccccccc * z + d }`;
    const out = fmt(long);
    expect(out).toBe(`posterior P over params {
  sample(z: normal) = aaaaaaaaaaaaaaaaaaaa
      + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb * z
      - ccccccccccccccccccccccccccccccccccccc * z
      + d
}
`);
    expect(fmt(out)).toBe(out);
  });

  it('keeps parentheses the source had, and the tree', () => {
    const src = 'model M { fn f(x: [n]) { return ((x)) + (-(x))^T - (1 - (2 - x)) } }';
    const out = fmt(src);
    expect(out).toContain('return (x) + (-(x))^T - (1 - (2 - x))');
    expect(stripSpans(parse(out, 'f.swag').ast)).toEqual(stripSpans(parse(src, 'f.swag').ast));
  });

  it('does not format a file with syntax errors', () => {
    const r = formatSource('model M {', 'bad.swag');
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.text).toBe('model M {');
  });
});
