/**
 * GraphBuilder: the one way to make nodes. Every node goes through the op table's shape rule,
 * so a built graph is well-typed by construction; shape errors are IRShapeErrors naming the op
 * and the operand shapes. The lowering from the checked AST, autodiff and every pass use it.
 *
 *   const b = new GraphBuilder();
 *   const x = b.input('x', [n, d]);
 *   const w = b.frozen('W', [out, d]);
 *   const y = b.matmul(x, w, { transB: true });
 *   b.output('y', y);
 *   const g = b.build();
 */
import { IRError, IRShapeError } from './errors.ts';
import type { AttrValue, Attrs, DType, Graph, GraphInput, GraphOutput, InputRole, Node, Shape, Span } from './graph.ts';
import { OPS, attrMatchesKind, isOpName, type OpName } from './ops/index.ts';

/** A handle on a node being built: its id and type. */
export interface Value {
  readonly id: number;
  readonly shape: Shape;
  readonly dtype: DType;
}

/** An operand of an elementwise op: a value, or a number (becomes an f32 scalar constant). */
export type Operand = Value | number;

/** Optional per-node metadata; overrides the builder's current span. */
export interface NodeMeta {
  readonly span?: Span;
  readonly name?: string;
}

export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly graphInputs: GraphInput[] = [];
  private readonly graphOutputs: GraphOutput[] = [];

  /** The span given to nodes made from now on (the lowering sets it per source expression). */
  span: Span | undefined;

  /** Number of nodes so far (the id the next node will get). */
  get size(): number {
    return this.nodes.length;
  }

  /** The handle of an existing node. */
  value(id: number): Value {
    const n = this.nodes[id];
    if (!n) throw new IRError(`no node %${id}`);
    return { id: n.id, shape: n.shape, dtype: n.dtype };
  }

  /** The node behind a handle (read-only view). */
  nodeOf(v: Value): Node {
    return this.nodes[v.id]!;
  }

  /**
   * Adds a node of any op: fills default attrs, canonicalises axes, applies the shape rule.
   * Use the typed helpers below where one exists.
   */
  node(op: OpName, inputs: readonly Value[], attrs: Readonly<Record<string, AttrValue | undefined>> = {}, meta: NodeMeta = {}): Value {
    if (!isOpName(op)) throw new IRError(`unknown op "${String(op)}"`);
    const spec = OPS[op];
    const span = meta.span ?? this.span;
    const arityOk = spec.arity === 'variadic' ? inputs.length >= 1 : inputs.length === spec.arity;
    if (!arityOk) throw new IRError(`${op}: expects ${spec.arity === 'variadic' ? 'one or more' : spec.arity} operands, got ${inputs.length}`);
    for (const v of inputs) {
      if (this.nodes[v.id] === undefined) throw new IRError(`${op}: operand %${v.id} is not a node of this builder`);
    }
    let full: Record<string, AttrValue> = {};
    for (const key of Object.keys(attrs)) {
      if (!(key in spec.attrs)) throw new IRError(`${op}: unknown attr "${key}"`);
    }
    for (const [key, attrSpec] of Object.entries(spec.attrs)) {
      const value = attrs[key] ?? attrSpec.default;
      if (value === undefined) throw new IRError(`${op}: missing attr "${key}"`);
      if (!attrMatchesKind(attrSpec.kind, value)) throw new IRError(`${op}: attr ${key} = ${JSON.stringify(value)} is not a valid ${attrSpec.kind}`);
      full[key] = Array.isArray(value) ? [...value] : value;
    }
    const types = inputs.map((v) => this.nodes[v.id]!);
    let type;
    try {
      if (spec.canonicalize) full = { ...spec.canonicalize(types, full) };
      type = spec.infer(types, full);
    } catch (e) {
      if (e instanceof IRShapeError && span && !e.span) throw new IRShapeError(e.op, e.shapes, e.detail, span);
      throw e;
    }
    const node: Node = {
      id: this.nodes.length,
      op,
      inputs: inputs.map((v) => v.id),
      attrs: full as Attrs,
      shape: [...type.shape],
      dtype: type.dtype,
      ...(span ? { span } : {}),
      ...(meta.name !== undefined ? { name: meta.name } : {}),
    };
    this.nodes.push(node);
    return { id: node.id, shape: node.shape, dtype: node.dtype };
  }

  /** Gives a node a readable name (printed; autodiff also accepts it in `wrt`). */
  named<V extends Value>(v: V, name: string): V {
    const n = this.nodes[v.id]!;
    this.nodes[v.id] = { ...n, name };
    return v;
  }

  // ---- graph interface ----

  /** A graph input. Names are unique across inputs. */
  input(name: string, shape: Shape, options: { role?: InputRole; dtype?: DType; span?: Span } = {}): Value {
    if (this.graphInputs.some((i) => i.name === name)) throw new IRError(`duplicate input "${name}"`);
    const role = options.role ?? 'input';
    const v = this.node('input', [], { name, role, shape: [...shape], dtype: options.dtype ?? 'f32' }, { span: options.span });
    this.graphInputs.push({ name, role, node: v.id });
    return v;
  }

  /** A trainable parameter input. */
  param(name: string, shape: Shape, span?: Span): Value {
    return this.input(name, shape, { role: 'param', span });
  }

  /** A frozen weight input: gradients flow through it, never to it. */
  frozen(name: string, shape: Shape, span?: Span): Value {
    return this.input(name, shape, { role: 'frozen', span });
  }

  /** A persistent state input (SWAG statistics). */
  state(name: string, shape: Shape, span?: Span): Value {
    return this.input(name, shape, { role: 'state', span });
  }

  /** Names a value as a graph output. Output names are unique. */
  output(name: string, v: Value): void {
    if (this.graphOutputs.some((o) => o.name === name)) throw new IRError(`duplicate output "${name}"`);
    this.graphOutputs.push({ name, node: v.id });
  }

  /** The graph built so far (a snapshot; the builder may go on). */
  build(): Graph {
    return { nodes: [...this.nodes], inputs: [...this.graphInputs], outputs: [...this.graphOutputs] };
  }

  // ---- sources ----

  /** A tensor filled with `value` (a scalar when `shape` is `[]`). `value` must be finite. */
  constant(value: number, shape: Shape = [], dtype: DType = 'f32'): Value {
    return this.node('constant', [], { value, shape: [...shape], dtype });
  }

  zeros(shape: Shape): Value {
    return this.constant(0, shape);
  }

  /** A small tensor written out element by element (row-major). */
  literal(values: readonly number[], shape: Shape, dtype: DType = 'f32'): Value {
    return this.node('literal', [], { values: [...values], shape: [...shape], dtype });
  }

  /** Each element's index along `axis` (0, 1, 2, ...), e.g. for sinusoidal positions. */
  iota(shape: Shape, axis: number, dtype: DType = 'f32'): Value {
    return this.node('iota', [], { shape: [...shape], axis, dtype });
  }

  private lift(x: Operand): Value {
    return typeof x === 'number' ? this.constant(x) : x;
  }

  // ---- elementwise ----

  neg(x: Value): Value { return this.node('neg', [x]); }
  exp(x: Value): Value { return this.node('exp', [x]); }
  log(x: Value): Value { return this.node('log', [x]); }
  sqrt(x: Value): Value { return this.node('sqrt', [x]); }
  rsqrt(x: Value): Value { return this.node('rsqrt', [x]); }
  tanh(x: Value): Value { return this.node('tanh', [x]); }
  relu(x: Value): Value { return this.node('relu', [x]); }
  /** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  gelu(x: Value): Value { return this.node('gelu', [x]); }
  sigmoid(x: Value): Value { return this.node('sigmoid', [x]); }
  sin(x: Value): Value { return this.node('sin', [x]); }
  cos(x: Value): Value { return this.node('cos', [x]); }
  abs(x: Value): Value { return this.node('abs', [x]); }
  square(x: Value): Value { return this.node('square', [x]); }
  reciprocal(x: Value): Value { return this.node('reciprocal', [x]); }
  /** log(1 + eˣ), computed without overflow. */
  softplus(x: Value): Value { return this.node('softplus', [x]); }
  /** x, with no gradient flowing back (a stop-gradient). */
  detach(x: Value): Value { return this.node('detach', [x]); }

  add(a: Operand, b: Operand): Value { return this.node('add', [this.lift(a), this.lift(b)]); }
  sub(a: Operand, b: Operand): Value { return this.node('sub', [this.lift(a), this.lift(b)]); }
  mul(a: Operand, b: Operand): Value { return this.node('mul', [this.lift(a), this.lift(b)]); }
  div(a: Operand, b: Operand): Value { return this.node('div', [this.lift(a), this.lift(b)]); }
  /** Elementwise maximum (the reduction is `reduceMax`). */
  max(a: Operand, b: Operand): Value { return this.node('max', [this.lift(a), this.lift(b)]); }
  min(a: Operand, b: Operand): Value { return this.node('min', [this.lift(a), this.lift(b)]); }
  pow(a: Operand, b: Operand): Value { return this.node('pow', [this.lift(a), this.lift(b)]); }
  gt(a: Operand, b: Operand): Value { return this.node('gt', [this.lift(a), this.lift(b)]); }
  ge(a: Operand, b: Operand): Value { return this.node('ge', [this.lift(a), this.lift(b)]); }
  lt(a: Operand, b: Operand): Value { return this.node('lt', [this.lift(a), this.lift(b)]); }
  le(a: Operand, b: Operand): Value { return this.node('le', [this.lift(a), this.lift(b)]); }
  eq(a: Operand, b: Operand): Value { return this.node('eq', [this.lift(a), this.lift(b)]); }
  /** Floored remainder a − b·floor(a/b) (the sign of b). */
  mod(a: Operand, b: Operand): Value { return this.node('mod', [this.lift(a), this.lift(b)]); }

  /** `cond ≠ 0 ? a : b`, elementwise with broadcasting. */
  select(cond: Value, a: Operand, b: Operand): Value {
    return this.node('select', [cond, this.lift(a), this.lift(b)]);
  }

  /** i32 → f32. */
  cast(x: Value, to: DType = 'f32'): Value {
    return this.node('cast', [x], { to });
  }

  /**
   * Inverted dropout: keeps an element with probability 1 − p and scales it by 1/(1 − p). The
   * mask is a deterministic function of (seed, stream, flat element index): `seed` is an i32
   * scalar operand (changes per step without recompiling), `stream` a static id per dropout site.
   */
  dropout(x: Value, seed: Value, options: { p: number; stream?: number }): Value {
    return this.node('dropout', [x, seed], { p: options.p, stream: options.stream ?? 0 });
  }

  /**
   * Standard normals of `shape`, a deterministic function of (seed, stream, flat element index):
   * `seed` is an i32 scalar operand, `stream` a static id separating draws under one seed.
   */
  randomNormal(seed: Value, shape: readonly number[], options: { stream?: number } = {}): Value {
    return this.node('randomNormal', [seed], { shape: [...shape], stream: options.stream ?? 0 });
  }

  /**
   * The buffer [K, ...] with row `index` (an f32 scalar holding a whole number) replaced by `row`
   * [...]; an index outside [0, K) writes nothing. A ring buffer's update.
   */
  writeRow(buffer: Value, row: Value, index: Value): Value {
    return this.node('writeRow', [buffer, row, index]);
  }

  // ---- contraction and reductions ----

  /** Batched matmul over the last two axes; leading axes broadcast. */
  matmul(a: Value, b: Value, options: { transA?: boolean; transB?: boolean } = {}): Value {
    return this.node('matmul', [a, b], { transA: options.transA ?? false, transB: options.transB ?? false });
  }

  private axesOf(x: Value, axes: number | readonly number[] | undefined): number[] {
    if (axes === undefined) return x.shape.map((_, i) => i);
    return typeof axes === 'number' ? [axes] : [...axes];
  }

  /** Sum over `axes` (all axes when omitted). */
  sum(x: Value, axes?: number | readonly number[], options: { keepDims?: boolean } = {}): Value {
    return this.node('sum', [x], { axes: this.axesOf(x, axes), keepDims: options.keepDims ?? false });
  }

  mean(x: Value, axes?: number | readonly number[], options: { keepDims?: boolean } = {}): Value {
    return this.node('mean', [x], { axes: this.axesOf(x, axes), keepDims: options.keepDims ?? false });
  }

  reduceMax(x: Value, axes?: number | readonly number[], options: { keepDims?: boolean } = {}): Value {
    return this.node('reduceMax', [x], { axes: this.axesOf(x, axes), keepDims: options.keepDims ?? false });
  }

  // ---- layout ----

  /** Reshape; one extent may be -1. */
  reshape(x: Value, shape: Shape): Value {
    return this.node('reshape', [x], { shape: [...shape] });
  }

  /** Permute axes; reverses them when `perm` is omitted. */
  transpose(x: Value, perm?: readonly number[]): Value {
    return this.node('transpose', [x], { perm: perm ? [...perm] : x.shape.map((_, i) => x.shape.length - 1 - i) });
  }

  broadcastTo(x: Value, shape: Shape): Value {
    return this.node('broadcastTo', [x], { shape: [...shape] });
  }

  concat(xs: readonly Value[], axis: number): Value {
    return this.node('concat', xs, { axis });
  }

  /** `size` elements of `axis` starting at `start`. */
  slice(x: Value, axis: number, start: number, size: number): Value {
    return this.node('slice', [x], { axis, start, size });
  }

  // ---- indexing ----

  /** Embedding lookup: rows of `table` [V, d] at i32 `ids` [...] → [..., d]. */
  gather(table: Value, ids: Value): Value {
    return this.node('gather', [table, ids]);
  }

  /** Adds rows of `updates` [..., d] into a zero [rows, d] table at `ids` [...]. */
  scatterAdd(updates: Value, ids: Value, rows: number): Value {
    return this.node('scatterAdd', [updates, ids], { rows });
  }

  // ---- row-wise ----

  softmax(x: Value, axis = -1): Value {
    return this.node('softmax', [x], { axis });
  }

  logSoftmax(x: Value, axis = -1): Value {
    return this.node('logSoftmax', [x], { axis });
  }

  /** Layer normalisation over the last axis: (x − μ)/√(σ² + eps)·γ + β. */
  layerNorm(x: Value, gamma: Value, beta: Value, options: { eps?: number } = {}): Value {
    return this.node('layerNorm', [x, gamma, beta], { eps: options.eps ?? 1e-5 });
  }

  /** Mean cross-entropy of logits [n, c] against i32 labels [n]: a scalar. */
  crossEntropy(logits: Value, labels: Value): Value {
    return this.node('crossEntropy', [logits, labels]);
  }
}
