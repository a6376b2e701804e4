/**
 * What an entry of the op table is: its kind, arity, attr schema and shape rule, and the attr
 * types each schema declares (`AttrsFromSchema`), so a shape rule reads `attrs.axes` as the
 * `readonly number[]` its schema says it is. Also the checks every shape rule shares.
 *
 * Below both op modules (`primitive.ts`, `fused.ts`); imports only the IR's plain types, its
 * errors and its shape arithmetic.
 */
import { IRError, IRShapeError } from '../errors.ts';
import { broadcastShapes, isValidShape, normalizeAxis } from '../shape.ts';
import type { AttrValue, Attrs, DType, InputRole, Shape, TypeInfo } from '../types.ts';

/**
 * Broad families, for passes that treat ops alike (fusion groups elementwise ops; the scheduler
 * gives matmuls and row-wise ops their own kernels).
 */
export type OpKind =
  | 'source' | 'elementwise' | 'matmul' | 'reduction' | 'layout' | 'indexing' | 'rowwise' | 'loss' | 'fused';

/** Attr value kinds the schema checks. */
export type AttrKind = 'int' | 'number' | 'boolean' | 'string' | 'ints' | 'numbers' | 'dtype' | 'role';

/** The TypeScript type of each attr kind. */
export interface AttrKindValue {
  int: number;
  number: number;
  boolean: boolean;
  string: string;
  ints: readonly number[];
  numbers: readonly number[];
  dtype: DType;
  role: InputRole;
}

export interface AttrSpec {
  readonly kind: AttrKind;
  /** Filled in by the builder when omitted; the printer leaves attrs equal to it out. */
  readonly default?: AttrValue;
  /** False for attrs the printed type already shows (a reshape's target shape, ...). */
  readonly printed?: boolean;
}

/** An attr schema: attr name → spec, in print order. */
export type AttrSchema = Readonly<Record<string, AttrSpec>>;

/** The attrs a schema declares, typed (every one present: the builder fills defaults). */
export type AttrsFromSchema<S extends AttrSchema> = { readonly [A in keyof S]: AttrKindValue[S[A]['kind']] };

/**
 * One op's entry in the table, its rules typed by its own attr schema. (Methods, not function
 * properties, so every entry is also an `OpSpec`, whose rules take untyped `Attrs`.)
 */
export interface OpDef<S extends AttrSchema = AttrSchema> {
  readonly kind: OpKind;
  /** Operand count; `'variadic'` means one or more (concat). */
  readonly arity: number | 'variadic';
  /** Attr schema, in print order. */
  readonly attrs: S;
  /** a ∘ b = b ∘ a: CSE may sort the operands. */
  readonly commutative?: boolean;
  /**
   * Brings attrs into canonical form given the operand types (negative axes → non-negative,
   * reduction axes sorted). Throws IRShapeError for axes out of range.
   */
  canonicalize?(inputs: readonly TypeInfo[], attrs: AttrsFromSchema<S>): AttrsFromSchema<S>;
  /** The shape rule: the result type, or an IRShapeError naming the op and the shapes. */
  infer(inputs: readonly TypeInfo[], attrs: AttrsFromSchema<S>): TypeInfo;
}

/** An entry of the op table as its users see it: rules over untyped attrs. */
export interface OpSpec {
  readonly kind: OpKind;
  readonly arity: number | 'variadic';
  readonly attrs: AttrSchema;
  readonly commutative?: boolean;
  canonicalize?(inputs: readonly TypeInfo[], attrs: Attrs): Attrs;
  infer(inputs: readonly TypeInfo[], attrs: Attrs): TypeInfo;
}

/** Declares one op: infers its schema's literal type so its rules see typed attrs. */
export function defineOp<const S extends AttrSchema>(def: OpDef<S>): OpDef<S> {
  return def;
}

/**
 * A node's (or body instruction's) attrs typed by its op's schema in `table`. `ops` lists the ops
 * the caller expects (several when they share the attrs read, as matmul and fusedMatmul share
 * transA and transB); any other op is an internal error, not a silent misread.
 */
export function attrsIn<T extends { readonly [op: string]: OpDef }, K extends keyof T & string>(
  table: T,
  node: { readonly op: string; readonly attrs: Attrs },
  ops: readonly K[],
): AttrsFromSchema<T[K]['attrs']> {
  if (!(ops as readonly string[]).includes(node.op)) throw new IRError(`expected a ${ops.join(' or ')} node, got ${node.op}`);
  return node.attrs as AttrsFromSchema<T[K]['attrs']>;
}

/** True when `value` is a valid attr of the given kind. */
export function attrMatchesKind(kind: AttrKind, value: AttrValue | undefined): boolean {
  switch (kind) {
    case 'int':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'ints':
      return Array.isArray(value) && value.every((v) => Number.isInteger(v));
    case 'numbers':
      return Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v));
    case 'dtype':
      return value === 'f32' || value === 'i32';
    case 'role':
      return value === 'input' || value === 'param' || value === 'frozen' || value === 'state';
  }
}

// The checks shape rules share. `op` names the op in the error.

export function fail(op: string, inputs: readonly TypeInfo[], detail: string, extra: Shape[] = []): never {
  throw new IRShapeError(op, [...inputs.map((t) => t.shape), ...extra], detail);
}

export function requireDType(op: string, inputs: readonly TypeInfo[], index: number, dtype: DType, what = `operand ${index}`): void {
  if (inputs[index]!.dtype !== dtype) fail(op, inputs, `${what} must be ${dtype}, got ${inputs[index]!.dtype}`);
}

export function requireAllF32(op: string, inputs: readonly TypeInfo[]): void {
  inputs.forEach((_, i) => requireDType(op, inputs, i, 'f32'));
}

export function broadcastAll(op: string, inputs: readonly TypeInfo[], shapes: readonly Shape[]): number[] {
  let out: number[] = [...shapes[0]!];
  for (const s of shapes.slice(1)) {
    const b = broadcastShapes(out, s);
    if (!b) fail(op, inputs, 'operands do not broadcast');
    out = b;
  }
  return out;
}

export function axisAttr(op: string, inputs: readonly TypeInfo[], axis: number, rank: number): number {
  const a = normalizeAxis(axis, rank);
  if (a === undefined) fail(op, inputs, `axis ${String(axis)} out of range for rank ${rank}`);
  return a;
}

export function shapeAttr(op: string, inputs: readonly TypeInfo[], shape: readonly number[]): number[] {
  if (!isValidShape(shape)) fail(op, inputs, `invalid shape attr ${JSON.stringify(shape)} (extents must be positive integers)`);
  return [...shape];
}
