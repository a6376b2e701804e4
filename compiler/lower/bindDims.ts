/**
 * Binding symbolic sizes to numbers. The checker compares sizes symbolically (`h * dh = d`); the
 * IR needs every extent as a number. A `DimEnv` holds the numbers of one scope (a declaration, an
 * instance of a block, a call of a fn) with where each came from, so that a missing or bad size
 * is reported naming the dim and its origin:
 *
 *     the size n has no value in adapter LoRA; bind it in the request: dims: { n: … }
 *     dim dh = d / h of block EncoderLayer at layers.0 is not a whole number: d = 10 (...), h = 3 (...); h must divide it exactly
 *
 * Sizes are evaluated in exact rational arithmetic: a derived size is accepted only when it is a
 * whole number, which is the divisibility the checker records (`TypedDerivedDim.divisors`).
 */
import { type Dim, dimSymbol, dimSymbols } from '../types/dim.ts';
import type { TypedDeclParam, TypedDerivedDim } from '../types/typed-program.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';
import { LowerError } from './errors.ts';

/** A bound size and where its value came from ("the request", "finetune MlpSwag", "default of LoRA"). */
export interface BoundDim {
  value: number;
  source: string;
}

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a || 1;
}

/** An exact fraction num/den (den > 0), or undefined when the numbers grow past exact integers. */
type Fraction = { num: number; den: number };

function addFractions(a: Fraction, b: Fraction): Fraction {
  const num = a.num * b.den + b.num * a.den;
  const den = a.den * b.den;
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

/** True for a positive whole number that IR extents can hold. */
export function isPositiveSize(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 1;
}

/** The sizes of one scope, with a parent scope to fall back on. */
export class DimEnv {
  private readonly own = new Map<string, BoundDim>();

  constructor(
    /** Names the scope in messages: "adapter LoRA on fc1", "block EncoderLayer at layers.0". */
    readonly where: string,
    private readonly parent?: DimEnv,
    /** The declaration's span, for messages about sizes that have no place of their own. */
    readonly span?: SourceSpan,
  ) {}

  /** A scope inside this one (a fn call binding its own sizes). */
  child(where: string, span?: SourceSpan): DimEnv {
    return new DimEnv(where, this, span ?? this.span);
  }

  lookup(name: string): BoundDim | undefined {
    return this.own.get(name) ?? this.parent?.lookup(name);
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  /** Binds `name`; the value must be a positive whole number. */
  bind(name: string, value: number, source: string, span?: SourceSpan): void {
    if (!isPositiveSize(value)) {
      throw new LowerError('bad-size', `the size ${name} must be a positive whole number, but ${source} gives ${value} (in ${this.where})`, span ?? this.span);
    }
    this.own.set(name, { value, source });
  }

  /** Every binding visible here (inner scopes win), for the result's record of sizes. */
  entries(): Record<string, BoundDim> {
    const out: Record<string, BoundDim> = this.parent ? this.parent.entries() : {};
    for (const [k, v] of this.own) out[k] = v;
    return out;
  }

  /** Describes a symbol's value for messages: `d = 10 (from the request)`. */
  describe(name: string): string {
    const b = this.lookup(name);
    return b ? `${name} = ${b.value} (${b.source})` : `${name} (unbound)`;
  }

  /**
   * The value of a size expression. Throws `unbound-dim` naming the first symbol without a value,
   * `inexact-division` when the result is not a whole number.
   */
  eval(d: Dim, what: string, span?: SourceSpan): number {
    let total: Fraction = { num: 0, den: 1 };
    let exact = true;
    let approx = 0;
    for (const t of d.terms) {
      let num = t.num;
      let den = t.den;
      let f = t.num / t.den;
      for (const [sym, e] of t.factors) {
        const b = this.lookup(sym);
        if (!b) {
          throw new LowerError(
            'unbound-dim',
            `the size ${sym} has no value in ${this.where} (needed for ${what}); bind it in the request: dims: { ${sym}: … }`,
            span ?? this.span,
          );
        }
        f *= b.value ** e;
        if (e > 0) num *= b.value ** e;
        else den *= b.value ** -e;
      }
      approx += f;
      if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den)) exact = false;
      else total = addFractions(total, { num, den });
    }
    if (!exact) {
      const r = Math.round(approx);
      if (Math.abs(r - approx) > 1e-9 * Math.max(1, Math.abs(r))) this.inexact(d, what, approx, span);
      return r;
    }
    if (total.den !== 1) this.inexact(d, what, total.num / total.den, span);
    return total.num;
  }

  /** A size used as a tensor extent: a positive whole number. */
  extent(d: Dim, what: string, span?: SourceSpan): number {
    const v = this.eval(d, what, span);
    if (v < 1) {
      const syms = dimSymbols(d).map((s) => this.describe(s)).join(', ');
      throw new LowerError('bad-size', `${what}: the size ${d.text} is ${v}${syms ? ` with ${syms}` : ''}; extents must be at least 1 (in ${this.where})`, span ?? this.span);
    }
    return v;
  }

  /** A whole shape of extents. */
  shape(dims: readonly Dim[], what: string, span?: SourceSpan): number[] {
    return dims.map((d) => this.extent(d, what, span));
  }

  private inexact(d: Dim, what: string, value: number, span?: SourceSpan): never {
    const syms = dimSymbols(d).map((s) => this.describe(s)).join(', ');
    throw new LowerError(
      'inexact-division',
      `the size ${d.text} (${what}) is not a whole number in ${this.where}: ${syms} gives ${+value.toFixed(4)}`,
      span ?? this.span,
    );
  }
}

/** One place a declaration's sizes may come from, in order of precedence. */
export interface BindingLayer {
  /** Shown in messages: "the request", "finetune MlpSwag", "instance layers.0 of UseLite". */
  source: string;
  /** Numbers, or sizes to evaluate in `env`. */
  values: Readonly<Record<string, number | Dim>>;
  /** Where the `Dim` values are evaluated (the enclosing scope). */
  env?: DimEnv;
}

/**
 * Binds a declaration's size parameters: the first layer that gives a value wins; then the
 * parameter's default (which may use the parameters before it). A size no layer gives and with no
 * default is an `unbound-dim` error naming it and every place that could have given it.
 * A `Dim` that is just the parameter's own name (a finetune leaving a size to the checkpoint) gives nothing.
 */
export function bindDeclParams(env: DimEnv, declWhat: string, params: readonly TypedDeclParam[], layers: readonly BindingLayer[], span?: SourceSpan): void {
  for (const p of params) {
    if (p.kind !== 'dim') continue;
    let done = false;
    for (const layer of layers) {
      const v = layer.values[p.name];
      if (v === undefined) continue;
      if (typeof v === 'number') {
        env.bind(p.name, v, layer.source, span);
        done = true;
        break;
      }
      if (dimSymbol(v) === p.name && !layer.env?.has(p.name)) continue;
      const from = layer.env ?? env;
      const value = from.eval(v, `${p.name} of ${declWhat}`, span);
      const sym = dimSymbol(v);
      const origin = sym ? from.lookup(sym)?.source : undefined;
      env.bind(p.name, value, `${layer.source}: ${v.text}${origin ? `, from ${origin}` : ''}`, span);
      done = true;
      break;
    }
    if (done) continue;
    if (p.default) {
      env.bind(p.name, env.eval(p.default, `the default of ${p.name}`, span), `the default of ${declWhat}`, span);
      continue;
    }
    const places = layers.map((l) => l.source).join(', ');
    throw new LowerError(
      'unbound-dim',
      `the size ${p.name} of ${declWhat} has no value: it has no default${places ? ` and nothing gives it (looked in ${places})` : ''}; bind it in the request: dims: { ${p.name}: … }`,
      span,
    );
  }
}

/**
 * Binds derived sizes (`dim dh = d / h`) in order; each must come out a whole number, which is
 * where an inexact division (d = 10, h = 3) is reported, naming the dim and the sizes involved.
 */
export function bindDerived(env: DimEnv, declWhat: string, derived: readonly TypedDerivedDim[], span?: SourceSpan): void {
  for (const d of derived) {
    let value: number;
    try {
      value = env.eval(d.value, `dim ${d.name}`, span);
    } catch (e) {
      if (!(e instanceof LowerError) || e.code !== 'inexact-division') throw e;
      const syms = dimSymbols(d.value).map((s) => env.describe(s)).join(', ');
      const divisors = d.divisors.map((x) => x.text).join(' and ');
      throw new LowerError(
        'inexact-division',
        `dim ${d.name} = ${d.value.text} of ${declWhat} is not a whole number: ${syms}${divisors ? `; the division by ${divisors} must be exact` : ''}`,
        span,
      );
    }
    env.bind(d.name, value, `dim ${d.name} = ${d.value.text}`, span);
  }
}

/** Checks that request-given sizes are positive whole numbers before anything uses them. */
export function checkRequestSizes(values: Readonly<Record<string, number>> | undefined, what: string): void {
  for (const [k, v] of Object.entries(values ?? {})) {
    if (!isPositiveSize(v)) throw new LowerError('bad-size', `the request binds the size ${k} to ${v}; sizes must be positive whole numbers (${what})`);
  }
}

/**
 * Binds the per-call sizes of an entry fn (`n` of `forward(x: [n, in])`, `b` and `t`) from the
 * request: they vary per call, so only the request can give them.
 */
export function bindFnDims(env: DimEnv, fnWhat: string, dims: readonly string[], values: Readonly<Record<string, number>> | undefined, span?: SourceSpan): void {
  for (const d of dims) {
    const v = values?.[d];
    if (v === undefined) {
      throw new LowerError('unbound-dim', `the size ${d} of ${fnWhat} varies per call and has no value; bind it in the request: dims: { ${d}: … }`, span);
    }
    env.bind(d, v, 'the request', span);
  }
}
