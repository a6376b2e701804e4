import type { Span } from '../syntax/span.ts';
import type { Dim } from './dim.ts';
import type { TensorType } from './tensor-type.ts';

/*
 * What the checker hands to the next compiler stage: every declaration with its sizes, tensors,
 * initializers and fns, every expression resolved (names to what they refer to, calls to ops,
 * axes to indices) and annotated with its type. Complete only when the check reported no errors.
 */

/** What a name in an expression refers to. Tensor paths are full paths (through block instances). */
export type Ref =
  /** A fn parameter. */
  | { kind: 'input'; name: string }
  /** A `let` binding; `id` tells apart a name shadowed by a later `let`. */
  | { kind: 'local'; name: string; id: number }
  /** A trainable tensor (`param`) of the declaration. */
  | { kind: 'param'; path: string }
  /** A frozen tensor: `frozen` members and linear weights/biases (`attn.qkv.weight`). */
  | { kind: 'frozen'; path: string }
  /** The adapter's target weight (`W` in `on linear(W: [out, in])`). */
  | { kind: 'target'; name: string }
  /** A scalar declaration parameter (`alpha: f32 = 16`). */
  | { kind: 'scalar'; name: string }
  /** A dimension used as a number (`r` in `alpha / r`). */
  | { kind: 'dim'; dim: Dim }
  /** Posteriors: the flattened trainable parameters `theta: [p]`. */
  | { kind: 'theta' }
  /** Post-hoc posteriors: one training example's gradient of the loss by theta, `grad: [p]`. */
  | { kind: 'grad' }
  /** Posteriors over linears: the rows the linear map reads, one example's `input: [rows, in]`. */
  | { kind: 'linear_input' }
  /** Posteriors over linears: the loss's gradient at the map's output rows, `output_grad: [rows, out]`. */
  | { kind: 'linear_output_grad' }
  /** Posteriors: a statistic. */
  | { kind: 'stat'; name: string }
  /** Posteriors: a standard normal draw of the sampler. */
  | { kind: 'noise'; name: string };

/** Compile-time attributes of an op: axes resolved to indices (from 0), sizes, options. */
export type AttrValue = number | boolean | Dim | Dim[] | number[];

/** Who a user-level call invokes. */
export type Callee =
  /** A fn of the same declaration. */
  | { kind: 'fn'; name: string }
  /** A fn of a block instance (`layers.0(x)` calls `forward`). */
  | { kind: 'block'; path: string; block: string; fn: string }
  /** A linear layer: `x @ weight^T (+ bias)`, or the attached adapter's forward. */
  | { kind: 'linear'; path: string; bias: boolean };

interface TypedBase {
  type: TensorType;
  span: Span;
}

/**
 * A typed expression. `op` nodes name an entry of the builtin table (`BUILTINS`) or an operator:
 * `add sub mul div neg matmul transpose` (transpose swaps the last two axes).
 */
export type TypedExpr =
  | (TypedBase & { kind: 'const'; value: number })
  | (TypedBase & { kind: 'ref'; ref: Ref })
  | (TypedBase & { kind: 'op'; op: string; args: TypedExpr[]; attrs: Record<string, AttrValue> })
  | (TypedBase & { kind: 'call'; callee: Callee; args: TypedExpr[]; bindings: Record<string, Dim> });

export type TypedStmt = { kind: 'let'; name: string; id: number; value: TypedExpr; span: Span } | { kind: 'return'; value: TypedExpr; span: Span };

/** A checked fn. `dims` are the sizes its parameters bind (`n` in `x: [n, in]`); they vary per call. */
export interface TypedFn {
  name: string;
  params: { name: string; type: TensorType }[];
  dims: string[];
  returns: TensorType;
  body: TypedStmt[];
  span: Span;
}

/**
 * How a tensor gets its first value. `builtin`: a named initializer from the builtin table with
 * constant options (`kaiming_uniform` with `{a: 2.236}`; `seed` when given). `expr`: computed from
 * other tensors (`row_norm(W)`). `load`: a pretrained weight read from the checkpoint by path.
 */
export type Init =
  | { kind: 'builtin'; name: string; options: Record<string, number> }
  | { kind: 'expr'; expr: TypedExpr }
  | { kind: 'load' };

export interface TypedTensor {
  path: string;
  trainable: boolean;
  type: TensorType;
  init: Init;
  span: Span;
}

/** A frozen linear layer: weight `[out, in]`, optional bias `[out]`. */
export interface TypedLinear {
  path: string;
  out: Dim;
  in: Dim;
  bias: boolean;
  span: Span;
}

/** A declaration parameter: a size or a scalar, with its default if any. */
export type TypedDeclParam = { name: string; kind: 'dim'; default?: Dim } | { name: string; kind: 'scalar'; elem: 'f32' | 'i32'; default?: number };

/** A derived size (`dim dh = d / h`) and the divisions the runtime must find exact. */
export interface TypedDerivedDim {
  name: string;
  value: Dim;
  /** Divisors that must divide evenly once sizes are known, e.g. `h` for `d / h`. */
  divisors: Dim[];
}

/** An instance of a block inside a model/block, with its size and scalar arguments. */
export interface TypedInstance {
  path: string;
  block: string;
  dims: Record<string, Dim>;
  scalars: Record<string, number>;
  span: Span;
}

interface TypedBodyDecl {
  name: string;
  params: TypedDeclParam[];
  derived: TypedDerivedDim[];
  /** This declaration's own tensors (not those inside block instances). */
  tensors: TypedTensor[];
  fns: TypedFn[];
  span: Span;
}

/** `penalty kl = ...`: an f32 scalar added to the training loss, divided by the data set size. */
export interface TypedPenalty {
  name: string;
  value: TypedExpr;
  span: Span;
}

export interface TypedAdapter extends TypedBodyDecl {
  kind: 'adapter';
  /** In declaration order; lowered once per layer the adapter is on. */
  penalties: TypedPenalty[];
  /** The target weight's name and its shape pattern (`W`, `[out, in]`). */
  target: { name: string; out: Dim; in: Dim };
}

export interface TypedBlock extends TypedBodyDecl {
  kind: 'block' | 'model';
  linears: TypedLinear[];
  instances: TypedInstance[];
  /** Every tensor and linear reachable from here, instances expanded, with full paths and shapes in this declaration's sizes. */
  flat: { tensors: TypedTensor[]; linears: TypedLinear[] };
}

export interface TypedStat {
  name: string;
  /** `average(e)`: running mean of `e`; `last(K, e)`: ring buffer of the last K values of `e`; `total(e)`: running sum. */
  reduce: 'average' | 'last' | 'total';
  /** For `last`: the capacity K. */
  capacity?: Dim;
  value: TypedExpr;
  type: TensorType;
  span: Span;
}

export interface TypedPosterior {
  kind: 'posterior';
  name: string;
  params: TypedDeclParam[];
  /**
   * `over params`: statistics of theta [p], and a sample rule. `over linears`: statistics kept per
   * linear map `a @ P^T` whose weight P is trainable, over its `input` and `output_grad` (in the
   * sizes `rows`, `in`, `out` of each), and no sample rule (the runtime samples).
   */
  over: 'params' | 'linears';
  stats: TypedStat[];
  /** `over params posthoc`: collected once per training example after training; stats may read `grad`. */
  posthoc: boolean;
  /** The sampler's standard normal draws and their shapes. */
  noise: { name: string; type: TensorType }[];
  sample: TypedExpr | undefined;
  span: Span;
}

/** An adapter attached to one layer. Tensor paths are `<layer>.<adapter param>`. */
export interface TypedAttachment {
  layer: string;
  adapter: string;
  /** The adapter's sizes for this layer: `out`, `in` from the weight, `r` from the arguments. */
  dims: Record<string, Dim>;
  scalars: Record<string, number>;
  tensors: TypedTensor[];
  span: Span;
}

export interface TypedFinetune {
  kind: 'finetune';
  name: string;
  model: string;
  /** The model's sizes as given (numbers) or left to the checkpoint (symbols). */
  dims: Record<string, Dim>;
  scalars: Record<string, number>;
  attachments: TypedAttachment[];
  /** Every trainable tensor, in order: adapter tensors per layer, then the model's params. */
  theta: { entries: { path: string; type: TensorType }[]; size: Dim };
  /** The posterior over params, if any. */
  posterior?: { name: string; dims: Record<string, Dim>; scalars: Record<string, number> };
  /** The posterior over linears, if any (collected in the same post-hoc pass as a post-hoc one over params). */
  linearsPosterior?: { name: string; dims: Record<string, Dim>; scalars: Record<string, number> };
  span: Span;
}

/** One op of the builtin table (or an operator) used by the program, and how often. */
export interface OpUse {
  op: string;
  count: number;
}

/** The checker's output for a file and everything it imports. */
export interface CheckedProgram {
  adapters: TypedAdapter[];
  blocks: TypedBlock[];
  models: TypedBlock[];
  posteriors: TypedPosterior[];
  finetunes: TypedFinetune[];
  ops: OpUse[];
}
