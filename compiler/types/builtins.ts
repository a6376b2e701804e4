import { type Dim, canonicalText, dimAdd, dimConst, dimEquals, dimProduct, dimSub, dimValue } from './dim.ts';
import { type TensorType, broadcastShapes, showProduct, showShape, showType, tensor } from './tensor-type.ts';
import type { AttrValue } from './typed-program.ts';

/*
 * The builtin table: every op, initializer and statistic the language knows, with its parameters
 * and shape rule. Unknown ops and wrong arities are reported against this table, and the checker
 * types every call with the entry's `infer`. Operators (`+ - * / @ ^T`, unary `-`) are typed by the
 * checker itself and listed in OPERATORS for reference.
 */

/**
 * How an argument is read:
 * - `tensor`: any expression (its type is checked by the op);
 * - `scalar`: an expression with no axes (`alpha / r`, `p`);
 * - `const`: a number known at compile time (`1e-5`, `sqrt(5)`);
 * - `int`: a whole constant number (seeds);
 * - `bool`: `true` or `false`;
 * - `dim`: a size (`d`, `2 * d`);
 * - `shape`: a list of sizes (`[b, t, h, dh]`);
 * - `axis`: an axis of the first tensor argument, by dim name (`axis: t`) or index (`axis: -1`).
 */
export type ArgKind = 'tensor' | 'scalar' | 'const' | 'int' | 'bool' | 'dim' | 'shape' | 'axis';

export interface OpParam {
  name: string;
  kind: ArgKind;
  /** Omittable; `default` (if any) is what it means then. */
  optional?: boolean;
  default?: number | boolean;
  /** Takes all remaining positional arguments (at least one). */
  variadic?: boolean;
}

/** The arguments of one call, already bound to a signature and evaluated by kind. */
export interface BoundCall {
  /** How the op was called, for messages: `softmax(s, axis: t)`. */
  readonly source: string;
  has(name: string): boolean;
  tensor(name: string): TensorType;
  tensors(name: string): TensorType[];
  /** The source text of an argument, for messages. */
  text(name: string): string;
  num(name: string): number;
  bool(name: string): boolean;
  dim(name: string): Dim;
  shape(name: string): Dim[];
  /** Resolves an axis argument against `shape`; reports an error and returns undefined if it cannot. */
  axis(name: string, shape: Dim[]): number | undefined;
  /** Reports an error (at the argument `name`, or at the call) and returns undefined. */
  fail(message: string, name?: string): undefined;
  /** Compile-time attributes recorded on the typed op. */
  attrs: Record<string, AttrValue>;
}

export interface Builtin {
  name: string;
  /** `op`: usable in expressions; `init`: only as an initializer; `stat`: only as a posterior statistic. */
  kind: 'op' | 'init' | 'stat';
  group: string;
  /** One or more forms (`max(a, b)` and `max(x, axis: d)`); the first that fits the call is used. */
  signatures: OpParam[][];
  /** How to call it, for error messages and docs. */
  usage: string;
  /** The shape rule in words/symbols, for docs. */
  rule: string;
  summary: string;
  /** The result type, or undefined after reporting why not. Initializers have none (the declared type is the result). */
  infer?: (call: BoundCall, form: number) => TensorType | undefined;
}

const X: OpParam = { name: 'x', kind: 'tensor' };

function needF32(c: BoundCall, name: string, what = name): boolean {
  const t = c.tensor(name);
  if (t.elem === 'i32' && !t.weak) {
    c.fail(`${c.source}: ${what} must be f32, but ${c.text(name)} is ${showType(t)}; convert with to_f32(...)`, name);
    return false;
  }
  return true;
}

function unary(name: string, summary: string): Builtin {
  return {
    name,
    kind: 'op',
    group: 'elementwise',
    signatures: [[X]],
    usage: `${name}(x)`,
    rule: '[...] → [...]',
    summary,
    infer: (c) => (needF32(c, 'x') ? tensor('f32', c.tensor('x').shape) : undefined),
  };
}

/** Broadcasts the tensor arguments `names`; reports the first clash. */
function broadcastArgs(c: BoundCall, names: string[]): Dim[] | undefined {
  let shape: Dim[] = [];
  for (const n of names) {
    const r = broadcastShapes(shape, c.tensor(n).shape);
    if (!r.ok) {
      const shapes = names.map((m) => showShape(c.tensor(m).shape)).join(' and ');
      return c.fail(`${c.source}: cannot broadcast ${shapes} — ${r.left.text} ≠ ${r.right.text}`);
    }
    shape = r.shape;
  }
  return shape;
}

function elemOf(c: BoundCall, names: string[]): 'f32' | 'i32' | undefined {
  const strong = names.map((n) => c.tensor(n)).filter((t) => !t.weak);
  const elems = new Set(strong.map((t) => t.elem));
  if (elems.size > 1) {
    const shown = names.map((n) => `${c.text(n)}: ${showType(c.tensor(n))}`).join(', ');
    return c.fail(`${c.source}: element types differ (${shown}); convert with to_f32(...)`);
  }
  return strong[0]?.elem ?? (names.some((n) => c.tensor(n).elem === 'f32') ? 'f32' : 'i32');
}

const BINARY: OpParam[] = [
  { name: 'a', kind: 'tensor' },
  { name: 'b', kind: 'tensor' },
];

function inferBinary(c: BoundCall): TensorType | undefined {
  const elem = elemOf(c, ['a', 'b']);
  const shape = broadcastArgs(c, ['a', 'b']);
  if (!elem || !shape) return undefined;
  const weak = c.tensor('a').weak && c.tensor('b').weak;
  return weak ? { elem, shape, weak: true } : tensor(elem, shape);
}

/** A reduction over one axis (or all axes when none is given). */
function inferReduction(c: BoundCall, f32Only: boolean): TensorType | undefined {
  const x = c.tensor('x');
  if (f32Only && !needF32(c, 'x')) return undefined;
  const keep = c.has('keepdims') ? c.bool('keepdims') : false;
  c.attrs.keepdims = keep;
  if (!c.has('axis')) {
    c.attrs.axis = -1;
    return tensor(x.elem, keep ? x.shape.map(() => ONE_DIM) : []);
  }
  const axis = c.axis('axis', x.shape);
  if (axis === undefined) return undefined;
  c.attrs.axis = axis;
  const shape = x.shape.slice();
  if (keep) shape[axis] = ONE_DIM;
  else shape.splice(axis, 1);
  return tensor(x.elem, shape);
}

const ONE_DIM = dimConst(1);

function reduction(name: string, summary: string, f32Only: boolean): Builtin {
  return {
    name,
    kind: 'op',
    group: 'reduction',
    signatures: [
      [
        X,
        { name: 'axis', kind: 'axis', optional: true },
        { name: 'keepdims', kind: 'bool', optional: true, default: false },
      ],
    ],
    usage: `${name}(x, axis: d, keepdims: false)`,
    rule: '[..., d, ...] → [..., ...] (the axis removed; kept as 1 with keepdims; all axes when no axis is given)',
    summary,
    infer: (c) => inferReduction(c, f32Only),
  };
}

/** `max`/`min`: elementwise on two tensors, or a reduction with `axis:`. */
function maxMin(name: 'max' | 'min'): Builtin {
  const r = reduction(name, '', false);
  return {
    name,
    kind: 'op',
    group: 'elementwise',
    signatures: [BINARY, r.signatures[0]!],
    usage: `${name}(a, b) or ${name}(x, axis: d)`,
    rule: 'broadcast(a, b); or as a reduction',
    summary: `Elementwise ${name}imum of two tensors (broadcasting), or the ${name}imum over an axis.`,
    infer: (c, form) => (form === 0 ? inferBinary(c) : inferReduction(c, false)),
  };
}

function softmaxLike(name: string, summary: string): Builtin {
  return {
    name,
    kind: 'op',
    group: 'nn',
    signatures: [[X, { name: 'axis', kind: 'axis', optional: true, default: -1 }]],
    usage: `${name}(x, axis: -1)`,
    rule: '[...] → [...]',
    summary,
    infer: (c) => {
      if (!needF32(c, 'x')) return undefined;
      const x = c.tensor('x');
      if (x.shape.length === 0) return c.fail(`${c.source}: needs a tensor with at least one axis, but ${c.text('x')} is a scalar`, 'x');
      const axis = c.has('axis') ? c.axis('axis', x.shape) : x.shape.length - 1;
      if (axis === undefined) return undefined;
      c.attrs.axis = axis;
      return tensor('f32', x.shape);
    },
  };
}

function init(name: string, params: OpParam[], summary: string, usage?: string): Builtin {
  const shown = params.map((p) => `${p.name}: ${p.default ?? '…'}`).join(', ');
  return { name, kind: 'init', group: 'initializer', signatures: [params], usage: usage ?? (params.length ? `${name}(${shown})` : name), rule: 'the declared shape', summary };
}

const SEED: OpParam = { name: 'seed', kind: 'int', optional: true };

const list: Builtin[] = [
  // Elementwise
  unary('sqrt', 'Square root.'),
  unary('rsqrt', 'Reciprocal square root, 1/√x.'),
  unary('exp', 'e to the power x.'),
  unary('log', 'Natural logarithm.'),
  unary('tanh', 'Hyperbolic tangent.'),
  unary('relu', 'max(x, 0).'),
  unary('gelu', 'Gaussian error linear unit (tanh approximation).'),
  unary('sigmoid', '1 / (1 + e^-x).'),
  unary('sin', 'Sine.'),
  unary('cos', 'Cosine.'),
  unary('abs', 'Absolute value.'),
  unary('sqr', 'x * x.'),
  unary('softplus', 'log(1 + e^x), computed without overflow (a positive scale from an unconstrained parameter).'),
  {
    name: 'detach',
    kind: 'op',
    group: 'elementwise',
    signatures: [[X]],
    usage: 'detach(x)',
    rule: '[...] → [...]',
    summary: 'x itself, but no gradient flows back through it (a stop-gradient: PEFT’s DoRA detaches its column norm).',
    infer: (c) => (needF32(c, 'x') ? tensor('f32', c.tensor('x').shape) : undefined),
  },
  {
    name: 'pow',
    kind: 'op',
    group: 'elementwise',
    signatures: [BINARY],
    usage: 'pow(a, b)',
    rule: 'broadcast(a, b)',
    summary: 'a to the power b, elementwise (broadcasting).',
    infer: (c) => (needF32(c, 'a') && needF32(c, 'b') ? inferBinary(c) : undefined),
  },
  maxMin('max'),
  maxMin('min'),
  {
    name: 'where',
    kind: 'op',
    group: 'elementwise',
    signatures: [
      [
        { name: 'cond', kind: 'tensor' },
        { name: 'a', kind: 'tensor' },
        { name: 'b', kind: 'tensor' },
      ],
    ],
    usage: 'where(cond, a, b)',
    rule: 'broadcast(cond, a, b)',
    summary: 'a where cond is nonzero, else b (an f32 mask: 1 keeps, 0 replaces).',
    infer: (c) => {
      if (!needF32(c, 'cond', 'the condition')) return undefined;
      const elem = elemOf(c, ['a', 'b']);
      const shape = broadcastArgs(c, ['cond', 'a', 'b']);
      return elem && shape ? tensor(elem, shape) : undefined;
    },
  },
  {
    name: 'to_f32',
    kind: 'op',
    group: 'elementwise',
    signatures: [[X]],
    usage: 'to_f32(x)',
    rule: 'i32[...] → [...]',
    summary: 'Converts integers to f32.',
    infer: (c) => tensor('f32', c.tensor('x').shape),
  },
  // Reductions
  reduction('sum', 'Sum over an axis.', false),
  reduction('mean', 'Mean over an axis.', true),
  // Shapes
  {
    name: 'reshape',
    kind: 'op',
    group: 'shape',
    signatures: [[X, { name: 'shape', kind: 'shape' }]],
    usage: 'reshape(x, [a, b, ...])',
    rule: '[...] → shape, when both have the same number of elements (checked symbolically)',
    summary: 'Reinterprets the elements in a new shape (row-major), e.g. to split heads: [b, t, d] → [b, t, h, dh] with dh = d / h.',
    infer: (c) => {
      const x = c.tensor('x');
      const target = c.shape('shape');
      c.attrs.shape = target;
      if (!dimEquals(dimProduct(x.shape), dimProduct(target))) {
        return c.fail(
          `${c.source}: ${showShape(x.shape)} has ${showProduct(x.shape)} elements but ${showShape(target)} has ${showProduct(target)}` +
            (showProduct(x.shape) === showProduct(target) ? ` (${canonicalText(dimProduct(x.shape))} vs ${canonicalText(dimProduct(target))})` : ''),
          'shape',
        );
      }
      return tensor(x.elem, target);
    },
  },
  {
    name: 'permute',
    kind: 'op',
    group: 'shape',
    signatures: [[X, { name: 'order', kind: 'shape' }]],
    usage: 'permute(x, [b, h, t, dh])',
    rule: '[b, t, h, dh] → [b, h, t, dh]: the same dims, reordered by name',
    summary: 'Reorders axes, naming the dims in their new order. Each dim must occur once in x.',
    infer: (c) => {
      const x = c.tensor('x');
      const order = c.shape('order');
      if (order.length !== x.shape.length) {
        return c.fail(`${c.source}: ${showShape(order)} must name each of the ${x.shape.length} axes of ${showShape(x.shape)} once`, 'order');
      }
      const perm: number[] = [];
      for (const d of order) {
        const hits = x.shape.flatMap((s, i) => (dimEquals(s, d) ? [i] : []));
        if (hits.length === 0) return c.fail(`${c.source}: ${showShape(x.shape)} has no axis ${d.text}`, 'order');
        if (hits.length > 1) return c.fail(`${c.source}: ${d.text} occurs ${hits.length} times in ${showShape(x.shape)}; use transpose(x, i, j) with axis indices`, 'order');
        if (perm.includes(hits[0]!)) return c.fail(`${c.source}: ${d.text} is named twice`, 'order');
        perm.push(hits[0]!);
      }
      c.attrs.perm = perm;
      return tensor(x.elem, perm.map((i) => x.shape[i]!));
    },
  },
  {
    name: 'transpose',
    kind: 'op',
    group: 'shape',
    signatures: [
      [
        X,
        { name: 'a', kind: 'axis' },
        { name: 'b', kind: 'axis' },
      ],
    ],
    usage: 'transpose(x, a, b)',
    rule: 'swaps axes a and b',
    summary: 'Swaps two axes (by dim name or index). `x^T` swaps the last two.',
    infer: (c) => {
      const x = c.tensor('x');
      const a = c.axis('a', x.shape);
      const b = c.axis('b', x.shape);
      if (a === undefined || b === undefined) return undefined;
      const perm = x.shape.map((_, i) => i);
      perm[a] = b;
      perm[b] = a;
      c.attrs.perm = perm;
      return tensor(x.elem, perm.map((i) => x.shape[i]!));
    },
  },
  {
    name: 'concat',
    kind: 'op',
    group: 'shape',
    signatures: [
      [
        { name: 'xs', kind: 'tensor', variadic: true },
        { name: 'axis', kind: 'axis', optional: true, default: -1 },
      ],
    ],
    usage: 'concat(a, b, ..., axis: d)',
    rule: 'sizes along the axis add up; the other axes must match',
    summary: 'Joins tensors along an axis.',
    infer: (c) => {
      const xs = c.tensors('xs');
      const first = xs[0]!;
      const axis = c.has('axis') ? c.axis('axis', first.shape) : first.shape.length - 1;
      if (axis === undefined) return undefined;
      if (first.shape.length === 0) return c.fail(`${c.source}: cannot concatenate scalars`);
      c.attrs.axis = axis;
      let size = first.shape[axis]!;
      for (const t of xs.slice(1)) {
        const ok = t.elem === first.elem && t.shape.length === first.shape.length && t.shape.every((d, i) => i === axis || dimEquals(d, first.shape[i]!));
        if (!ok) return c.fail(`${c.source}: ${showType(first)} and ${showType(t)} differ outside axis ${axis}`);
        size = dimAdd(size, t.shape[axis]!);
      }
      const shape = first.shape.slice();
      shape[axis] = size;
      return tensor(first.elem, shape);
    },
  },
  {
    name: 'slice',
    kind: 'op',
    group: 'shape',
    signatures: [
      [
        X,
        { name: 'start', kind: 'dim' },
        { name: 'size', kind: 'dim' },
        { name: 'axis', kind: 'axis', optional: true, default: -1 },
      ],
    ],
    usage: 'slice(x, start, size, axis: -1)',
    rule: '[..., n] → [..., size]: elements start .. start + size - 1 of the axis',
    summary: 'A contiguous part of one axis, e.g. the q, k and v thirds of a fused qkv projection.',
    infer: (c) => {
      const x = c.tensor('x');
      if (x.shape.length === 0) return c.fail(`${c.source}: cannot slice a scalar`, 'x');
      const axis = c.has('axis') ? c.axis('axis', x.shape) : x.shape.length - 1;
      if (axis === undefined) return undefined;
      const start = c.dim('start');
      const size = c.dim('size');
      const room = dimSub(x.shape[axis]!, dimAdd(start, size));
      const left = dimValue(room);
      if ((left !== undefined && left < 0) || (room.terms.length > 0 && room.terms.every((t) => t.num < 0))) {
        return c.fail(`${c.source}: start + size = ${canonicalText(dimAdd(start, size))} exceeds ${x.shape[axis]!.text}`, 'size');
      }
      c.attrs.axis = axis;
      c.attrs.start = start;
      c.attrs.size = size;
      const shape = x.shape.slice();
      shape[axis] = size;
      return tensor(x.elem, shape);
    },
  },
  {
    name: 'iota',
    kind: 'op',
    group: 'shape',
    signatures: [[{ name: 'n', kind: 'dim' }]],
    usage: 'iota(n)',
    rule: '→ [n]',
    summary: '0, 1, ..., n - 1 as f32 (positions, channel indices).',
    infer: (c) => {
      c.attrs.n = c.dim('n');
      return tensor('f32', [c.dim('n')]);
    },
  },
  // Neural-network ops
  softmaxLike('softmax', 'Softmax along an axis (the last by default).'),
  softmaxLike('log_softmax', 'Log of softmax along an axis, computed stably.'),
  {
    name: 'layer_norm',
    kind: 'op',
    group: 'nn',
    signatures: [
      [
        X,
        { name: 'gamma', kind: 'tensor' },
        { name: 'beta', kind: 'tensor' },
        { name: 'eps', kind: 'const', optional: true, default: 1e-5 },
      ],
    ],
    usage: 'layer_norm(x, gamma, beta, eps: 1e-5)',
    rule: '[..., d], gamma: [d], beta: [d] → [..., d]',
    summary: 'Normalizes over the last axis, then scales by gamma and shifts by beta.',
    infer: (c) => {
      if (!needF32(c, 'x')) return undefined;
      const x = c.tensor('x');
      const last = x.shape[x.shape.length - 1];
      if (!last) return c.fail(`${c.source}: needs a tensor with at least one axis, but ${c.text('x')} is a scalar`, 'x');
      for (const p of ['gamma', 'beta']) {
        const t = c.tensor(p);
        if (t.shape.length !== 1 || !dimEquals(t.shape[0]!, last)) {
          return c.fail(`${c.source}: ${p} must be [${last.text}] (the last axis of ${showShape(x.shape)}), but ${c.text(p)} is ${showType(t)}`, p);
        }
      }
      c.attrs.eps = c.num('eps');
      return tensor('f32', x.shape);
    },
  },
  {
    name: 'l2_normalize',
    kind: 'op',
    group: 'nn',
    signatures: [
      [
        X,
        { name: 'axis', kind: 'axis', optional: true, default: -1 },
        { name: 'eps', kind: 'const', optional: true, default: 1e-12 },
      ],
    ],
    usage: 'l2_normalize(x, axis: -1, eps: 1e-12)',
    rule: '[...] → [...]',
    summary: 'Divides by the L2 norm along an axis (the last by default).',
    infer: (c) => {
      if (!needF32(c, 'x')) return undefined;
      const x = c.tensor('x');
      if (x.shape.length === 0) return c.fail(`${c.source}: needs a tensor with at least one axis`, 'x');
      const axis = c.has('axis') ? c.axis('axis', x.shape) : x.shape.length - 1;
      if (axis === undefined) return undefined;
      c.attrs.axis = axis;
      c.attrs.eps = c.num('eps');
      return tensor('f32', x.shape);
    },
  },
  {
    name: 'row_norm',
    kind: 'op',
    group: 'nn',
    signatures: [[X]],
    usage: 'row_norm(W)',
    rule: '[..., out, in] → [..., out]',
    summary: 'The L2 norm of every row (over the last axis), e.g. the per-output magnitude of DoRA.',
    infer: (c) => {
      if (!needF32(c, 'x')) return undefined;
      const x = c.tensor('x');
      if (x.shape.length === 0) return c.fail(`${c.source}: needs a tensor with at least one axis, but ${c.text('x')} is a scalar`, 'x');
      return tensor('f32', x.shape.slice(0, -1));
    },
  },
  {
    name: 'dropout',
    kind: 'op',
    group: 'nn',
    signatures: [[X, { name: 'p', kind: 'scalar' }]],
    usage: 'dropout(x, p)',
    rule: '[...] → [...]',
    summary: 'While training, zeroes each element with probability p and scales the rest by 1/(1-p); the identity otherwise.',
    infer: (c) => (needF32(c, 'x') ? tensor('f32', c.tensor('x').shape) : undefined),
  },
  {
    name: 'embedding',
    kind: 'op',
    group: 'nn',
    signatures: [
      [
        { name: 'table', kind: 'tensor' },
        { name: 'ids', kind: 'tensor' },
      ],
    ],
    usage: 'embedding(table, ids)',
    rule: 'table: [v, d], ids: i32[...] → [..., d]',
    summary: 'Looks up rows of a table by integer ids (token embeddings).',
    infer: (c) => {
      const table = c.tensor('table');
      const ids = c.tensor('ids');
      if (table.shape.length !== 2 || table.elem !== 'f32') return c.fail(`${c.source}: the table must be an f32 matrix [v, d], but ${c.text('table')} is ${showType(table)}`, 'table');
      if (ids.elem !== 'i32') return c.fail(`${c.source}: ids must be i32, but ${c.text('ids')} is ${showType(ids)}`, 'ids');
      return tensor('f32', [...ids.shape, table.shape[1]!]);
    },
  },
  // Initializers
  init('zeros', [], 'All zeros.'),
  init('ones', [], 'All ones.'),
  init('fill', [{ name: 'value', kind: 'const' }], 'Every element equal to value.'),
  init(
    'normal',
    [{ name: 'mean', kind: 'const', optional: true, default: 0 }, { name: 'std', kind: 'const', optional: true, default: 1 }, SEED],
    'Independent normal draws; with a seed, the same tensor on every run.',
  ),
  init('uniform', [{ name: 'low', kind: 'const' }, { name: 'high', kind: 'const' }, SEED], 'Independent uniform draws in [low, high).'),
  init(
    'kaiming_uniform',
    [{ name: 'a', kind: 'const', optional: true, default: Math.sqrt(5) }, SEED],
    'Uniform in ±√(6 / ((1 + a²) · fan_in)), fan_in = the last axis (PyTorch’s default for nn.Linear uses a = √5).',
    'kaiming_uniform(a: sqrt(5), seed: …)',
  ),
  init('kaiming_normal', [{ name: 'a', kind: 'const', optional: true, default: 0 }, SEED], 'Normal with std √(2 / ((1 + a²) · fan_in)).'),
  init('xavier_uniform', [{ name: 'gain', kind: 'const', optional: true, default: 1 }, SEED], 'Uniform in ±gain · √(6 / (fan_in + fan_out)), the last two axes.'),
  // Posterior statistics
  {
    name: 'average',
    kind: 'stat',
    group: 'statistic',
    signatures: [[X]],
    usage: 'average(e)',
    rule: 'e: [...] → [...]',
    summary: 'The running mean of e over the snapshots collected so far.',
  },
  {
    name: 'last',
    kind: 'stat',
    group: 'statistic',
    signatures: [[{ name: 'k', kind: 'dim' }, X]],
    usage: 'last(K, e)',
    rule: 'e: [...] → [K, ...]',
    summary: 'A ring buffer of the last K values of e (SWAG’s deviation matrix).',
  },
  {
    name: 'total',
    kind: 'stat',
    group: 'statistic',
    signatures: [[X]],
    usage: 'total(e)',
    rule: 'e: [...] → [...]',
    summary: 'The running sum of e over the snapshots, or over the training examples of a post-hoc pass (a Fisher: total(grad * grad)).',
  },
];

/** Every builtin, by name. */
export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(list.map((b) => [b.name, b]));

/**
 * Ops that share their name with an initializer and are told apart by where they are written:
 * `normal(std: 0.02)` as the whole initializer of a tensor is the initializer, `normal([r, in])`
 * inside an expression is noise drawn afresh at every training step. Only a forward pass may
 * draw noise (the checker says so anywhere else).
 */
export const EXPRESSION_FORMS: ReadonlyMap<string, Builtin> = new Map([
  [
    'normal',
    {
      name: 'normal',
      kind: 'op',
      group: 'random',
      signatures: [[{ name: 'shape', kind: 'shape' }]],
      usage: 'normal([a, b, ...])',
      rule: '→ [a, b, ...]',
      summary:
        'Standard normal noise, drawn afresh per training step from the run’s seed and step (Philox, as dropout): the reparameterization trick, e.g. M + softplus(G) * normal([r, in]). Only in a forward pass.',
      infer: (c) => {
        c.attrs.shape = c.shape('shape');
        return tensor('f32', c.shape('shape'));
      },
    },
  ],
]);

/** The operators, as they appear in typed ops and the ops table. */
export const OPERATORS: readonly { op: string; syntax: string; rule: string }[] = [
  { op: 'add', syntax: 'a + b', rule: 'broadcast(a, b)' },
  { op: 'sub', syntax: 'a - b', rule: 'broadcast(a, b)' },
  { op: 'mul', syntax: 'a * b', rule: 'broadcast(a, b)' },
  { op: 'div', syntax: 'a / b', rule: 'broadcast(a, b), f32' },
  { op: 'neg', syntax: '-a', rule: '[...] → [...]' },
  { op: 'matmul', syntax: 'a @ b', rule: '[..., m, k] @ [..., k, n] → [..., m, n] (batch axes broadcast; a vector is a single row/column)' },
  { op: 'transpose', syntax: 'a^T', rule: '[..., m, n] → [..., n, m]' },
];
