/**
 * The op table: every op, primitive (`primitive.ts`) and fused (`fused.ts`), with its arity, attr
 * schema and shape rule. What an op computes lives in `../evaluateOp.ts` and how gradients flow
 * through it in `../gradients.ts`; both are keyed by `OpName` so the type checker makes sure every
 * op has an entry in each.
 *
 * Attrs are typed by the schema: `AttrsOf<'matmul'>` is `{ transA: boolean; transB: boolean }`,
 * and `attrsOf(node, 'matmul')` reads a node's attrs as that type (checking the op), so no caller
 * casts an attr to the type it expects.
 *
 * Imports point one way: spec ← primitive ← body ← fused ← index; `graph.ts` needs only `OpName`.
 */
import type { Attrs } from '../types.ts';
import { FUSED_OPS } from './fused.ts';
import { PRIMITIVE_OPS } from './primitive.ts';
import { attrsIn, type AttrsFromSchema, type OpSpec } from './spec.ts';

export { attrMatchesKind, type AttrKind, type AttrSchema, type AttrSpec, type AttrsFromSchema, type OpKind, type OpSpec } from './spec.ts';
export { isPrimitiveOp, primitiveAttrs, type PrimitiveAttrs, type PrimitiveOpName } from './primitive.ts';
export { MATMUL_ACTIVATIONS, MAX_LOW_RANK, fusedLowRankTypes, fusedMatmulOperands, fusedSoftmaxInput, type FusedOpName } from './fused.ts';

const DEFS = { ...PRIMITIVE_OPS, ...FUSED_OPS };

/** Every op the IR knows. */
export type OpName = keyof typeof DEFS;

/** The attrs of op `K`, typed by its schema (every attr present: the builder fills defaults). */
export type AttrsOf<K extends OpName> = AttrsFromSchema<(typeof DEFS)[K]['attrs']>;

/** The op table. */
export const OPS: { readonly [K in OpName]: OpSpec } = DEFS;

/** True when `op` names an op in the table. */
export function isOpName(op: string): op is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, op);
}

/** The spec of an op. */
export function opSpec(op: OpName): OpSpec {
  return OPS[op];
}

/**
 * A node's attrs typed by its op's schema: `attrsOf(node, 'matmul').transA` is a boolean. `ops`
 * lists the ops the caller expects (several when they share the attrs read, as matmul and
 * fusedMatmul share transA and transB); a node of any other op is an internal error.
 */
export function attrsOf<K extends OpName>(node: { readonly op: OpName; readonly attrs: Attrs }, ...ops: readonly K[]): AttrsOf<K> {
  return attrsIn(DEFS, node, ops);
}
