/**
 * examples/dora.swag ships DoRA twice: `DoRA` differentiates through the row norm ||V||, `PeftDoRA`
 * detaches it as PEFT does. Same forward; PeftDoRA's gradients for A and B equal a plain
 * TypeScript reference of PEFT's formula with the norm held constant, and differ from DoRA's.
 * Odd shapes (out 7, in 5, r 3, n 4), the f64 interpreter, loss = Σ y ⊙ C (a cotangent C).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../compiler/types/check.ts';
import { evaluate } from '../../compiler/ir/index.ts';
import { lowerProgram } from '../../compiler/lower/index.ts';
import { rng } from '../helpers/random.ts';

const [OUT, IN, R, N, ALPHA] = [7, 5, 3, 4, 16];

function lowered(name: string) {
  const checked = checkSource(readFileSync('examples/dora.swag', 'utf8'), 'examples/dora.swag');
  expect(checked.diagnostics).toEqual([]);
  const r = lowerProgram(checked.program, { kind: 'adapter', name, linear: { out: OUT, in: IN }, dims: { r: R, n: N }, loss: { kind: 'dot' } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.network!.training!;
}

const random = (n: number, r: () => number) => Float64Array.from({ length: n }, () => 2 * r() - 1);

/** PEFT's DoRA gradients for A and B, with s = m / ||V|| a constant: dV = (C ⊙ s)ᵀ x, dA = c Bᵀ dV, dB = c dV Aᵀ. */
function peftReference(f: Record<string, Float64Array>) {
  const { x, W, A, B, m, cotangent: C } = f as Record<string, Float64Array>;
  const c = ALPHA / R;
  const V = new Float64Array(OUT * IN);
  for (let o = 0; o < OUT; o++)
    for (let i = 0; i < IN; i++) {
      let ba = 0;
      for (let k = 0; k < R; k++) ba += B![o * R + k]! * A![k * IN + i]!;
      V[o * IN + i] = W![o * IN + i]! + c * ba;
    }
  const s = Array.from({ length: OUT }, (_, o) => m![o]! / Math.hypot(...V.slice(o * IN, (o + 1) * IN)));
  const dV = new Float64Array(OUT * IN);
  for (let o = 0; o < OUT; o++)
    for (let i = 0; i < IN; i++) {
      let g = 0;
      for (let n = 0; n < N; n++) g += C![n * OUT + o]! * s[o]! * x![n * IN + i]!;
      dV[o * IN + i] = g;
    }
  const dA = new Float64Array(R * IN);
  const dB = new Float64Array(OUT * R);
  for (let k = 0; k < R; k++)
    for (let i = 0; i < IN; i++) {
      let g = 0;
      for (let o = 0; o < OUT; o++) g += B![o * R + k]! * dV[o * IN + i]!;
      dA[k * IN + i] = c * g;
    }
  for (let o = 0; o < OUT; o++)
    for (let k = 0; k < R; k++) {
      let g = 0;
      for (let i = 0; i < IN; i++) g += dV[o * IN + i]! * A![k * IN + i]!;
      dB[o * R + k] = c * g;
    }
  return { dA, dB };
}

const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('examples/dora.swag: DoRA and PeftDoRA', () => {
  const r = rng(11);
  const feeds = { x: random(N * IN, r), W: random(OUT * IN, r), A: random(R * IN, r), B: random(OUT * R, r), m: random(OUT, r).map((v) => 1 + v * v), cotangent: random(N * OUT, r) };

  it('PeftDoRA: the gradients of A and B are PEFT formula with the norm held constant', () => {
    const got = evaluate(lowered('PeftDoRA'), feeds);
    const want = peftReference(feeds);
    expect(maxDiff(got['grad.A']!, want.dA)).toBeLessThan(1e-12 * Math.max(1, maxAbs(want.dA)));
    expect(maxDiff(got['grad.B']!, want.dB)).toBeLessThan(1e-12 * Math.max(1, maxAbs(want.dB)));
  });

  it('the two variants compute the same forward, the same grad of m, and different grads of A and B', () => {
    const peft = evaluate(lowered('PeftDoRA'), feeds);
    const full = evaluate(lowered('DoRA'), feeds);
    expect(maxDiff(peft.y!, full.y!)).toBeLessThan(1e-12);
    expect(maxDiff(peft['grad.m']!, full['grad.m']!)).toBeLessThan(1e-12);
    // The norm's own gradient term is a sizable part of DoRA's A and B gradients at these values.
    expect(maxDiff(peft['grad.A']!, full['grad.A']!)).toBeGreaterThan(1e-3 * maxAbs(full['grad.A']!));
    expect(maxDiff(peft['grad.B']!, full['grad.B']!)).toBeGreaterThan(1e-3 * maxAbs(full['grad.B']!));
  });
});
