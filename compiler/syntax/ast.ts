import type { Span } from './span.ts';

/*
 * The swaglet syntax tree: plain data, no methods, every node with a `span`. The parser builds it
 * from chevrotain's concrete syntax tree; the checker (compiler/types) reads it; the formatter
 * prints it back. Nothing here is resolved: names are text, shapes are expressions.
 */

/** A name as written, with where it was written. */
export interface Ident {
  name: string;
  span: Span;
}

/**
 * A dotted name such as `layers.0.attn.qkv` or `ln1.gamma`. Segments are identifiers or
 * non-negative integers (for numbered layers); `text` is the segments joined by dots.
 */
export interface Path {
  segments: string[];
  text: string;
  span: Span;
}

// ---------------------------------------------------------------------------------------------
// Expressions

interface ExprBase {
  span: Span;
  /** True when the source wrapped this expression in parentheses. Only the formatter uses it. */
  parens?: true;
}

/** `3`, `0.5`, `1e-30`. `text` keeps the spelling for the formatter; `isInt` means no `.` or exponent. */
export interface NumberLit extends ExprBase {
  kind: 'number';
  value: number;
  text: string;
  isInt: boolean;
}

/** `true` / `false`; only meaningful as an option such as `keepdims: true`. */
export interface BoolLit extends ExprBase {
  kind: 'bool';
  value: boolean;
}

/** A reference to anything named: a tensor, a parameter, a dimension (as a value), a member path. */
export interface NameExpr extends ExprBase {
  kind: 'name';
  path: Path;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '@';

/** `a + b`, `a - b`, `a * b`, `a / b` (elementwise, broadcasting) and `a @ b` (matrix product). */
export interface BinaryExpr extends ExprBase {
  kind: 'binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
}

/** `-x`. */
export interface NegExpr extends ExprBase {
  kind: 'neg';
  operand: Expr;
}

/** `x^T`: swaps the last two axes. */
export interface TransposeExpr extends ExprBase {
  kind: 'transpose';
  operand: Expr;
}

/** An argument: positional (`x`) or named (`axis: d`). */
export interface Arg {
  name?: Ident;
  value: Expr;
  span: Span;
}

/** `f(args)`: a builtin op, an initializer, a fn of the same declaration, a linear layer or a block. */
export interface CallExpr extends ExprBase {
  kind: 'call';
  callee: Path;
  args: Arg[];
}

/** `[b, t, h, dh]`: a list of sizes, used as the target of `reshape` and `permute`. */
export interface ListExpr extends ExprBase {
  kind: 'list';
  items: Expr[];
}

export type Expr = NumberLit | BoolLit | NameExpr | BinaryExpr | NegExpr | TransposeExpr | CallExpr | ListExpr;

// ---------------------------------------------------------------------------------------------
// Types

/**
 * A written type. `dim` is a size parameter. A tensor type is an optional element type and an
 * optional shape: `f32` (a scalar), `i32[b, t]`, `[n, in]` (f32 is the default element type).
 * Shape entries are size expressions: names of dims, integers, `3 * d`, `d / h`.
 */
export type TypeExpr = DimType | TensorTypeExpr;

export interface DimType {
  kind: 'dim';
  span: Span;
}

export interface TensorTypeExpr {
  kind: 'tensor';
  /** `null` when no element type was written (it is then f32). */
  elem: 'f32' | 'i32' | null;
  /** `null` for a scalar (`f32`, `i32`); `[]` is also a scalar, written `[]`. */
  shape: Expr[] | null;
  span: Span;
}

// ---------------------------------------------------------------------------------------------
// Declarations

/** A declaration parameter: `r: dim`, `alpha: f32 = 16`, `K: dim = 20`. */
export interface DeclParam {
  name: Ident;
  type: TypeExpr;
  default?: Expr;
  span: Span;
}

/** `param A: [r, in] = kaiming_uniform(a: sqrt(5))`: a trainable tensor with its initializer. */
export interface ParamMember {
  kind: 'param';
  path: Path;
  type: TypeExpr;
  init?: Expr;
  span: Span;
}

/**
 * `frozen A: [r, in] = normal(std: 1, seed: 7)`: a non-trainable tensor. With an initializer it
 * is generated (seeded); without one (models only) it is a pretrained weight loaded by name.
 */
export interface FrozenMember {
  kind: 'frozen';
  path: Path;
  type: TypeExpr;
  init?: Expr;
  span: Span;
}

/**
 * `linear attn.qkv: [3 * d, d] + bias`: a frozen linear layer, weight `[out, in]` (and bias
 * `[out]`), callable as `attn.qkv(x)`. Linear layers are what adapters attach to.
 */
export interface LinearMember {
  kind: 'linear';
  path: Path;
  shape: Expr[];
  bias: boolean;
  span: Span;
}

/** `block layers.0 = EncoderLayer(d: d1, h: h)`: an instance of a block declaration. */
export interface BlockInstanceMember {
  kind: 'instance';
  path: Path;
  block: Ident;
  args: Arg[];
  span: Span;
}

/** `dim dh = d / h`: a derived size. */
export interface DimMember {
  kind: 'dim';
  name: Ident;
  value: Expr;
  span: Span;
}

/** `penalty kl = expr`: a scalar over the adapter's tensors, added to the training loss divided by the data set size. */
export interface PenaltyMember {
  kind: 'penalty';
  name: Ident;
  value: Expr;
  span: Span;
}

/** A fn parameter: `x: [n, in]`, `mask: f32[b, t]`. New dim names in its shape bind here. */
export interface FnParam {
  name: Ident;
  type: TypeExpr;
  span: Span;
}

/** `let y = expr` or `let y: [n, d] = expr`; a later `let` may shadow an earlier one. */
export interface LetStmt {
  kind: 'let';
  name: Ident;
  type?: TypeExpr;
  value: Expr;
  span: Span;
}

export interface ReturnStmt {
  kind: 'return';
  value: Expr;
  span: Span;
}

export type Stmt = LetStmt | ReturnStmt;

/** `fn forward(x: [n, in]) -> [n, out] { ... }`. */
export interface FnMember {
  kind: 'fn';
  name: Ident;
  params: FnParam[];
  returns?: TypeExpr;
  body: Stmt[];
  span: Span;
}

export type Member = ParamMember | FrozenMember | LinearMember | BlockInstanceMember | DimMember | FnMember | PenaltyMember;

/** `import "lora.swag"`: makes the declarations of another file (relative path) visible. */
export interface ImportDecl {
  kind: 'import';
  path: string;
  pathSpan: Span;
  span: Span;
}

/**
 * `adapter LoRA(r: dim, ...) on linear(W: [out, in]) { members }`: an adapter replaces the
 * product `x @ W^T` of every linear layer it is attached to by its `forward`.
 */
export interface AdapterDecl {
  kind: 'adapter';
  name: Ident;
  params: DeclParam[];
  /** The frozen weight of the target layer, `W: [out, in]`; its dims bind to the layer's. */
  target: { weight: Ident; shape: Expr[]; span: Span };
  members: Member[];
  span: Span;
}

/** `block Name(params) { members }` (a reusable part) or `model Name(params) { members }` (a base network). */
export interface BlockDecl {
  kind: 'block' | 'model';
  name: Ident;
  params: DeclParam[];
  members: Member[];
  span: Span;
}

/** `stat mean = average(theta)`: a running statistic kept during collection. */
export interface StatMember {
  kind: 'stat';
  name: Ident;
  value: Expr;
  span: Span;
}

/** A standard normal draw of the sampler: `z1: normal` (shape `[p]`) or `z2: normal[K]`. */
export interface NoiseParam {
  name: Ident;
  dist: Ident;
  shape?: Expr[];
  span: Span;
}

/** `sample(z1: normal, z2: normal[K]) = expr`: how to draw one parameter vector. */
export interface SampleMember {
  kind: 'sample';
  params: NoiseParam[];
  value: Expr;
  span: Span;
}

/** `posterior SWAG(K: dim = 20) over params { stats; sample }`. */
export interface PosteriorDecl {
  kind: 'posterior';
  name: Ident;
  params: DeclParam[];
  /** The word after `over`; `params` is the only one defined. */
  over: Ident;
  /** `posthoc` after `over params`: collected by a pass over the training data after training. */
  mode?: Ident;
  members: (StatMember | SampleMember)[];
  span: Span;
}

/** `adapt "layers.*.attn.qkv", "*.ffn.*" with LoRA(r: 8)`. */
export interface AdaptMember {
  kind: 'adapt';
  targets: { pattern: string; span: Span }[];
  adapter: Ident;
  args: Arg[];
  span: Span;
}

/** `posterior SWAG(K: 20)` inside a finetune. */
export interface UsePosteriorMember {
  kind: 'posterior';
  posterior: Ident;
  args: Arg[];
  span: Span;
}

/**
 * `finetune Name = Model(args) { adapt ...; posterior ... }`: the root of a program — this model
 * with these sizes, these adapters on these layers, this posterior over the trainable parameters.
 */
export interface FinetuneDecl {
  kind: 'finetune';
  name: Ident;
  model: Ident;
  args: Arg[];
  members: (AdaptMember | UsePosteriorMember)[];
  span: Span;
}

export type Decl = ImportDecl | AdapterDecl | BlockDecl | PosteriorDecl | FinetuneDecl;

/** A `//` comment, kept so the formatter can put it back. `text` includes the slashes. */
export interface Comment {
  text: string;
  span: Span;
}

/** One parsed file. */
export interface SourceFile {
  kind: 'file';
  file: string;
  decls: Decl[];
  span: Span;
}
