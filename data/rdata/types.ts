/**
 * The R values the unserializer produces: a discriminated union on `kind`, one member per family of
 * R's SEXP types that data frames, tibbles and the lazy-load machinery need.
 *
 * NA handling follows R's own encoding, so nothing is lost on the way in:
 * - integer and logical vectors keep R's NA_INTEGER (−2^31, {@link NA_INTEGER});
 * - double vectors keep NA_real_ as the NaN with low word 1954 (see {@link isNAReal});
 * - character vectors hold `null` for NA_character_.
 */

/** R's NA for integer and logical vectors (INT_MIN). */
export const NA_INTEGER = -2147483648;

/** Attributes in R order (a pairlist in R: tag → value). */
export type RAttributes = ReadonlyMap<string, RValue>;

interface WithAttributes {
  /** Attributes in their serialized order; empty when the object has none. */
  readonly attributes: RAttributes;
}

export interface RNull {
  readonly kind: 'null';
}

export interface RSymbol {
  readonly kind: 'symbol';
  readonly name: string;
}

/** A logical vector: 1 TRUE, 0 FALSE, NA_INTEGER NA. */
export interface RLogical extends WithAttributes {
  readonly kind: 'logical';
  readonly data: Int32Array;
}

export interface RInteger extends WithAttributes {
  readonly kind: 'integer';
  readonly data: Int32Array;
}

export interface RDouble extends WithAttributes {
  readonly kind: 'double';
  readonly data: Float64Array;
}

/** Complex numbers, interleaved (re, im). */
export interface RComplex extends WithAttributes {
  readonly kind: 'complex';
  readonly data: Float64Array;
}

export interface RCharacter extends WithAttributes {
  readonly kind: 'character';
  /** `null` is NA_character_. */
  readonly data: readonly (string | null)[];
}

export interface RRaw extends WithAttributes {
  readonly kind: 'raw';
  readonly data: Uint8Array;
}

/** A generic vector (VECSXP: list, data.frame, tibble) or an expression vector (EXPRSXP). */
export interface RList extends WithAttributes {
  readonly kind: 'list';
  readonly expression: boolean;
  readonly items: readonly RValue[];
}

/** One cell of a pairlist: its tag (`null` when untagged) and value. */
export interface RPairListItem {
  readonly tag: string | null;
  readonly value: RValue;
}

/**
 * A pairlist (LISTSXP), call (LANGSXP) or `...` list (DOTSXP), flattened from R's CAR/CDR chain.
 * For a call, the first item is the function.
 */
export interface RPairList extends WithAttributes {
  readonly kind: 'pairlist' | 'language' | 'dots';
  readonly items: readonly RPairListItem[];
  /** The final CDR of a dotted pair (ALTREP deferred_string state is CONS(vector, info)); absent when NULL. */
  readonly tail?: RValue;
}

export interface RClosure extends WithAttributes {
  readonly kind: 'closure';
  readonly formals: RValue;
  readonly body: RValue;
  readonly environment: RValue;
}

export interface RPromise extends WithAttributes {
  readonly kind: 'promise';
  readonly value: RValue;
  readonly expression: RValue;
  readonly environment: RValue;
}

/** A primitive function (SPECIALSXP/BUILTINSXP), known only by name. */
export interface RBuiltin {
  readonly kind: 'builtin';
  readonly name: string;
}

/** An S4 object without a vector payload (S4SXP): everything lives in its attributes. */
export interface RS4Object extends WithAttributes {
  readonly kind: 's4';
}

/**
 * An environment. The well-known ones (global, base, empty, base namespace) and references to
 * namespaces/package environments carry no bindings; the reader cannot evaluate R, so they are
 * named, not populated. Serialized (and lazy-load persisted) environments are read in full.
 * Mutable because environments can contain themselves: they are registered before being filled.
 */
export interface REnvironment {
  readonly kind: 'environment';
  /** 'global' | 'base' | 'empty' | 'base-namespace' | 'namespace' | 'package' | 'serialized' | 'persistent'. */
  readonly origin: EnvironmentOrigin;
  /** For namespaces/packages: R's spec strings (name, version); for persistent ones: their key. */
  readonly spec: readonly string[];
  bindings: Map<string, RValue>;
  enclosure: RValue | null;
  locked: boolean;
  attributes: RAttributes;
}

export type EnvironmentOrigin =
  | 'global'
  | 'base'
  | 'empty'
  | 'base-namespace'
  | 'namespace'
  | 'package'
  | 'serialized'
  | 'persistent';

/** R's unbound-value and missing-argument markers, which can appear inside serialized closures. */
export interface RMarker {
  readonly kind: 'unbound' | 'missing-arg';
}

/**
 * An external pointer (data.table's `.internal.selfref`, for one): its address is never
 * serialized, only the protected value and tag.
 */
export interface RExternalPointer extends WithAttributes {
  readonly kind: 'external-pointer';
  readonly protectedValue: RValue;
  readonly tag: RValue;
}

/** A weak reference; R serializes none of its contents. */
export interface RWeakRef extends WithAttributes {
  readonly kind: 'weakref';
}

export type RValue =
  | RNull
  | RSymbol
  | RLogical
  | RInteger
  | RDouble
  | RComplex
  | RCharacter
  | RRaw
  | RList
  | RPairList
  | RClosure
  | RPromise
  | RBuiltin
  | RS4Object
  | REnvironment
  | RMarker
  | RExternalPointer
  | RWeakRef;

export const R_NULL: RNull = Object.freeze({ kind: 'null' });

/** True when `data[i]` is R's NA_real_ (as opposed to NaN or any other number). */
export function isNAReal(data: Float64Array, i: number): boolean {
  const v = data[i]!;
  if (!Number.isNaN(v)) return false;
  const words = new Uint32Array(data.buffer, data.byteOffset + i * 8, 2);
  // Little-endian host: words[0] is the low word. R marks NA with low word 1954.
  return words[0] === 1954;
}

/** The attribute `name` of `v`, or undefined when absent (or `v` carries no attributes). */
export function attributeOf(v: RValue, name: string): RValue | undefined {
  return 'attributes' in v ? v.attributes.get(name) : undefined;
}

/** The `class` attribute as strings (empty when absent). */
export function classOf(v: RValue): string[] {
  const cls = attributeOf(v, 'class');
  return cls?.kind === 'character' ? cls.data.filter((s): s is string => s !== null) : [];
}

/** The `names` attribute as strings (`null` for NA names), or undefined when absent. */
export function namesOf(v: RValue): readonly (string | null)[] | undefined {
  const names = attributeOf(v, 'names');
  return names?.kind === 'character' ? names.data : undefined;
}
