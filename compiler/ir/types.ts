/**
 * The IR's plain value types, below everything else in compiler/ir (they import nothing): element
 * types, shapes, spans, attr values, input roles. `graph.ts` re-exports them with the graph itself.
 */

/** Element type. `f32` is the only differentiable type; `i32` carries token ids and labels. */
export type DType = 'f32' | 'i32';

/** A static shape: positive integer extents, row-major. `[]` is a scalar. */
export type Shape = readonly number[];

/**
 * Where a node came from in `.swag` source. Opaque to the IR: carried through every pass for
 * error messages and kernel labels. Only `file`, `line` and `col` are printed.
 */
export interface Span {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** An attr value: plain JSON data (finite numbers, booleans, strings, number arrays). */
export type AttrValue = number | boolean | string | readonly number[];

/**
 * A node's attrs, untyped. Every attr in the op's schema is present (defaults filled by the
 * builder); `attrsOf` (ops/index.ts) gives them the types the op's schema declares.
 */
export type Attrs = Readonly<Record<string, AttrValue>>;

/**
 * What a graph input is for:
 * - `input`: data fed per call (activations x, token ids, masks, labels);
 * - `param`: trainable (gets gradients, SWAG statistics are taken over these);
 * - `frozen`: base-model weights; never get gradients (gradients still flow *through* them);
 * - `state`: persistent non-trainable tensors (SWAG mean, second moment, deviation ring).
 */
export type InputRole = 'input' | 'param' | 'frozen' | 'state';

/** The type of a value: static shape and dtype. */
export interface TypeInfo {
  readonly shape: Shape;
  readonly dtype: DType;
}
