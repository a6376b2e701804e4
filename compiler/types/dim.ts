/*
 * Symbolic sizes. A dimension is a sum of terms `c · Π sym^e` with a rational coefficient and
 * integer (possibly negative) exponents, kept in a canonical order, so that `h * dh` with
 * `dh = d / h` is the same size as `d`, and `half + half` with `half = d / 2` is `d`. Two dims are
 * equal exactly when their canonical keys are equal. Divisibility (that `h` divides `d`) cannot be
 * known until sizes are bound; the checker records such requirements for the runtime.
 */

/** One term: `num/den · Π factors[i][0]^factors[i][1]`, factors sorted by name, no zero exponents. */
export interface DimTerm {
  num: number;
  den: number;
  factors: [string, number][];
}

/**
 * A size: canonical terms plus how to show it. `text` is the spelling the user wrote where the dim
 * came from a written shape (`dh`, `3 * d`), else a canonical rendering.
 */
export interface Dim {
  terms: DimTerm[];
  key: string;
  text: string;
}

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a || 1;
}

function factorKey(f: [string, number][]): string {
  return f.map(([s, e]) => (e === 1 ? s : `${s}^${e}`)).join('*');
}

function termKey(t: DimTerm): string {
  return `${t.num}/${t.den}:${factorKey(t.factors)}`;
}

/** Builds a canonical dim from arbitrary terms: merges like terms, drops zeros, sorts. */
function make(terms: DimTerm[], text?: string): Dim {
  const merged = new Map<string, DimTerm>();
  for (const t of terms) {
    const k = factorKey(t.factors);
    const prev = merged.get(k);
    if (!prev) merged.set(k, { ...t });
    else {
      const num = prev.num * t.den + t.num * prev.den;
      const den = prev.den * t.den;
      merged.set(k, { num, den, factors: t.factors });
    }
  }
  const out: DimTerm[] = [];
  for (const t of merged.values()) {
    if (t.num === 0) continue;
    const g = gcd(t.num, t.den);
    const sign = t.den < 0 ? -1 : 1;
    out.push({ num: (sign * t.num) / g, den: (sign * t.den) / g, factors: t.factors });
  }
  // Constants last, then by factor names: `d + 1`, `h * dh`.
  out.sort((a, b) => {
    if (a.factors.length === 0 !== (b.factors.length === 0)) return a.factors.length === 0 ? 1 : -1;
    const ka = factorKey(a.factors);
    const kb = factorKey(b.factors);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const key = out.map(termKey).join(' + ') || '0';
  const d: Dim = { terms: out, key, text: '' };
  d.text = text ?? render(d);
  return d;
}

function renderTerm(t: DimTerm): string {
  const num = t.factors.filter(([, e]) => e > 0).flatMap(([s, e]) => Array(e).fill(s) as string[]);
  const den = t.factors.filter(([, e]) => e < 0).flatMap(([s, e]) => Array(-e).fill(s) as string[]);
  const coef = Math.abs(t.num);
  const top = [...(coef !== 1 || num.length === 0 ? [String(coef)] : []), ...num].join(' * ');
  const bottom = [...(t.den !== 1 ? [String(t.den)] : []), ...den];
  if (bottom.length === 0) return top;
  return `${top} / ${bottom.length > 1 ? `(${bottom.join(' * ')})` : bottom[0]}`;
}

function render(d: Dim): string {
  if (d.terms.length === 0) return '0';
  let s = '';
  d.terms.forEach((t, i) => {
    const body = renderTerm(t);
    if (i === 0) s = t.num < 0 ? `-${body}` : body;
    else s += t.num < 0 ? ` - ${body}` : ` + ${body}`;
  });
  return s;
}

export function dimConst(n: number): Dim {
  return make([{ num: n, den: 1, factors: [] }]);
}

export function dimSym(name: string): Dim {
  return make([{ num: 1, den: 1, factors: [[name, 1]] }], name);
}

/** The same size shown as `text` (how the user spelled it). */
export function withText(d: Dim, text: string): Dim {
  return { ...d, text };
}

/** The canonical rendering, ignoring how the dim was spelled. */
export function canonicalText(d: Dim): string {
  return render(d);
}

export function dimAdd(a: Dim, b: Dim): Dim {
  return make([...a.terms, ...b.terms]);
}

export function dimNeg(a: Dim): Dim {
  return make(a.terms.map((t) => ({ ...t, num: -t.num })));
}

export function dimSub(a: Dim, b: Dim): Dim {
  return dimAdd(a, dimNeg(b));
}

function mulFactors(a: [string, number][], b: [string, number][], sign: number): [string, number][] {
  const m = new Map<string, number>(a);
  for (const [s, e] of b) m.set(s, (m.get(s) ?? 0) + sign * e);
  return [...m.entries()].filter(([, e]) => e !== 0).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

export function dimMul(a: Dim, b: Dim): Dim {
  const terms: DimTerm[] = [];
  for (const x of a.terms) for (const y of b.terms) terms.push({ num: x.num * y.num, den: x.den * y.den, factors: mulFactors(x.factors, y.factors, 1) });
  return make(terms);
}

/** `a / b` when `b` is a single nonzero term (a product of dims and numbers); else undefined. */
export function dimDiv(a: Dim, b: Dim): Dim | undefined {
  if (b.terms.length !== 1) return undefined;
  const d = b.terms[0]!;
  return make(a.terms.map((t) => ({ num: t.num * d.den, den: t.den * d.num, factors: mulFactors(t.factors, d.factors, -1) })));
}

export function dimEquals(a: Dim, b: Dim): boolean {
  return a.key === b.key;
}

/** The integer value of a constant dim, else undefined. */
export function dimValue(d: Dim): number | undefined {
  if (d.terms.length === 0) return 0;
  if (d.terms.length === 1 && d.terms[0]!.factors.length === 0 && d.terms[0]!.den === 1) return d.terms[0]!.num;
  return undefined;
}

/** The symbol if `d` is exactly one symbol (`n`), else undefined. */
export function dimSymbol(d: Dim): string | undefined {
  const t = d.terms[0];
  if (d.terms.length !== 1 || !t || t.num !== 1 || t.den !== 1 || t.factors.length !== 1 || t.factors[0]![1] !== 1) return undefined;
  return t.factors[0]![0];
}

export function dimSymbols(d: Dim): string[] {
  return [...new Set(d.terms.flatMap((t) => t.factors.map(([s]) => s)))];
}

/** True when every coefficient is still an exact integer ratio (no overflow). */
export function dimIsExact(d: Dim): boolean {
  return d.terms.every((t) => Number.isSafeInteger(t.num) && Number.isSafeInteger(t.den) && Math.abs(t.num) < 2 ** 40 && t.den < 2 ** 40);
}

/** Replaces symbols simultaneously. The result is shown canonically unless nothing changed. */
export function substitute(d: Dim, map: ReadonlyMap<string, Dim>): Dim {
  if (!dimSymbols(d).some((s) => map.has(s))) return d;
  let acc = dimConst(0);
  for (const t of d.terms) {
    let term = make([{ num: t.num, den: t.den, factors: [] }]);
    for (const [s, e] of t.factors) {
      const v = map.get(s) ?? dimSym(s);
      for (let i = 0; i < Math.abs(e); i++) {
        const next = e > 0 ? dimMul(term, v) : dimDiv(term, v);
        // Dividing by a sum has no canonical form; keep the symbol rather than lose the term.
        term = next ?? dimMul(term, make([{ num: 1, den: 1, factors: [[s, -1]] }]));
      }
    }
    acc = dimAdd(acc, term);
  }
  const sym = dimSymbol(d);
  const replaced = sym !== undefined ? map.get(sym) : undefined;
  return replaced ? withText(acc, replaced.text) : acc;
}

/** The product of a shape's sizes. */
export function dimProduct(shape: Dim[]): Dim {
  return shape.reduce((acc, d) => dimMul(acc, d), dimConst(1));
}

/** Evaluates a dim given sizes for its symbols; undefined if a symbol is missing or the result is not a whole number. */
export function evalDim(d: Dim, sizes: Readonly<Record<string, number>>): number | undefined {
  let total = 0;
  for (const t of d.terms) {
    let v = t.num / t.den;
    for (const [s, e] of t.factors) {
      const x = sizes[s];
      if (x === undefined) return undefined;
      v *= x ** e;
    }
    total += v;
  }
  const r = Math.round(total);
  return Math.abs(r - total) < 1e-9 ? r : undefined;
}
