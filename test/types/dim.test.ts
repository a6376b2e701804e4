import { describe, expect, it } from 'vitest';
import { canonicalText, dimAdd, dimConst, dimDiv, dimEquals, dimMul, dimProduct, dimSub, dimSym, evalDim, substitute } from '../../compiler/types/dim.ts';

const d = dimSym('d');
const h = dimSym('h');

describe('symbolic dims', () => {
  it('are equal when their canonical forms are', () => {
    expect(dimEquals(dimMul(h, dimDiv(d, h)!), d)).toBe(true);
    const half = dimDiv(d, dimConst(2))!;
    expect(dimEquals(dimAdd(half, half), d)).toBe(true);
    expect(dimEquals(dimMul(dimConst(3), d), dimAdd(d, dimAdd(d, d)))).toBe(true);
    expect(dimEquals(dimMul(d, h), dimMul(h, d))).toBe(true);
    expect(dimEquals(dimSub(d, d), dimConst(0))).toBe(true);
    expect(dimEquals(d, h)).toBe(false);
    expect(dimEquals(dimMul(h, d), d)).toBe(false);
  });

  it('divide only by a single term', () => {
    expect(dimDiv(d, dimAdd(d, h))).toBeUndefined();
    expect(canonicalText(dimDiv(dimMul(dimConst(6), d), dimMul(dimConst(4), h))!)).toBe('3 * d / (2 * h)');
  });

  it('render canonically and keep the spelling they were given', () => {
    expect(canonicalText(dimAdd(dimMul(dimConst(2), d), dimConst(-1)))).toBe('2 * d - 1');
    expect(canonicalText(dimProduct([d, h, d]))).toBe('d * d * h');
    expect(d.text).toBe('d');
  });

  it('substitute simultaneously and evaluate', () => {
    const swapped = substitute(dimSub(d, h), new Map([
      ['d', h],
      ['h', d],
    ]));
    expect(canonicalText(swapped)).toBe('-d + h');
    const dh = dimDiv(d, h)!;
    expect(evalDim(dh, { d: 256, h: 8 })).toBe(32);
    expect(evalDim(dh, { d: 250, h: 8 })).toBeUndefined();
    expect(evalDim(dh, { d: 256 })).toBeUndefined();
  });
});
