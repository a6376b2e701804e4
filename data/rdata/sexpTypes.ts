/** R's SEXPTYPE codes and the pseudo-types of its serialization format (src/main/serialize.c). */
export const SXP = {
  NIL: 0,
  SYM: 1,
  LIST: 2,
  CLO: 3,
  ENV: 4,
  PROM: 5,
  LANG: 6,
  SPECIAL: 7,
  BUILTIN: 8,
  CHAR: 9,
  LGL: 10,
  INT: 13,
  REAL: 14,
  CPLX: 15,
  STR: 16,
  DOT: 17,
  ANY: 18,
  VEC: 19,
  EXPR: 20,
  BCODE: 21,
  EXTPTR: 22,
  WEAKREF: 23,
  RAW: 24,
  S4: 25,
  // Serialization-only pseudo-types.
  ALTREP: 238,
  ATTRLIST: 239,
  ATTRLANG: 240,
  BASEENV: 241,
  EMPTYENV: 242,
  BCREPREF: 243,
  BCREPDEF: 244,
  GENERICREF: 245,
  CLASSREF: 246,
  PERSIST: 247,
  PACKAGE: 248,
  NAMESPACE: 249,
  BASENAMESPACE: 250,
  MISSINGARG: 251,
  UNBOUNDVALUE: 252,
  GLOBALENV: 253,
  NILVALUE: 254,
  REF: 255,
} as const;

/** The fields packed into each item's leading flags integer. */
export interface ItemFlags {
  readonly type: number;
  /** R's "gp" bits: for CHARSXP, the string's encoding marks. */
  readonly levels: number;
  readonly isObject: boolean;
  readonly hasAttributes: boolean;
  readonly hasTag: boolean;
  readonly raw: number;
}

export function unpackFlags(flags: number): ItemFlags {
  return {
    type: flags & 0xff,
    levels: flags >>> 12,
    isObject: (flags & (1 << 8)) !== 0,
    hasAttributes: (flags & (1 << 9)) !== 0,
    hasTag: (flags & (1 << 10)) !== 0,
    raw: flags,
  };
}

/** CHARSXP encoding marks in `levels`. */
export const CHAR_BYTES = 1 << 1;
export const CHAR_LATIN1 = 1 << 2;
export const CHAR_UTF8 = 1 << 3;
export const CHAR_ASCII = 1 << 6;
