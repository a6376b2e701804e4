/**
 * Expands the ALTREP objects R (≥ 3.5, serialization version 3) writes in compact form into plain
 * vectors. Only R's own classes from base are known; anything else (mmap, vroom, arrow, …) is an
 * RUnsupportedError naming the class, because its state format belongs to that package.
 */
import { RFormatError, RUnsupportedError } from './errors.ts';
import { NA_INTEGER, isNAReal, type RAttributes, type RValue } from './types.ts';

export function expandAltrep(className: string, packageName: string, state: RValue, attributes: RAttributes): RValue {
  switch (className) {
    case 'compact_intseq': {
      const [n, first, step] = seqInfo(className, state);
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = first + i * step;
      return { kind: 'integer', data, attributes };
    }
    case 'compact_realseq': {
      const [n, first, step] = seqInfo(className, state);
      const data = new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = first + i * step;
      return { kind: 'double', data, attributes };
    }
    case 'deferred_string':
      // State is CONS(arg, info): the integer/double vector whose as.character() is deferred.
      return { kind: 'character', data: deferredStrings(pairlistCar(className, state)), attributes };
    case 'wrap_integer':
    case 'wrap_logical':
    case 'wrap_real':
    case 'wrap_complex':
    case 'wrap_raw':
    case 'wrap_string':
    case 'wrap_list': {
      // State is list2(x, meta): the wrapped vector and its sortedness/no-NA metadata. The wrapper's
      // own (serialized) attributes are the object's, as in R's ALTREP_UNSERIALIZE_EX.
      const inner = pairlistCar(className, state);
      if (!('attributes' in inner)) throw new RFormatError(`ALTREP ${className}: wrapped value is a ${inner.kind}`);
      return { ...inner, attributes } as RValue;
    }
    default:
      throw new RUnsupportedError(
        `ALTREP class ${className} (package ${packageName}) is not supported; only base's compact_intseq, ` +
          `compact_realseq, deferred_string and wrap_* classes are`,
      );
  }
}

/** (length, first, step) of a compact sequence; R stores it as a double (or, in old builds, integer) vector. */
function seqInfo(className: string, state: RValue): [number, number, number] {
  if ((state.kind === 'double' || state.kind === 'integer') && state.data.length === 3) {
    const [n, first, step] = Array.from(state.data);
    if (Number.isSafeInteger(n) && n! >= 0) return [n!, first!, step!];
  }
  throw new RFormatError(`ALTREP ${className}: expected a length-3 numeric state, got ${describe(state)}`);
}

function pairlistCar(className: string, state: RValue): RValue {
  if (state.kind === 'pairlist' && state.items.length > 0) return state.items[0]!.value;
  if (state.kind === 'list' && state.items.length > 0) return state.items[0]!;
  throw new RFormatError(`ALTREP ${className}: expected a pairlist state, got ${describe(state)}`);
}

function describe(v: RValue): string {
  return 'data' in v ? `${v.kind}[${v.data.length}]` : v.kind;
}

/**
 * as.character() of an integer or double vector: exact for integers; for doubles 15 significant
 * digits like R, though R's choice of scientific notation by width (100000 → "1e+05") is not copied.
 */
function deferredStrings(arg: RValue): (string | null)[] {
  if (arg.kind === 'integer') return Array.from(arg.data, (v) => (v === NA_INTEGER ? null : String(v)));
  if (arg.kind === 'double') {
    return Array.from(arg.data, (v, i) => (isNAReal(arg.data, i) ? null : formatDouble(v)));
  }
  throw new RFormatError(`ALTREP deferred_string: expected an integer or double vector, got ${describe(arg)}`);
}

function formatDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Inf' : '-Inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  // R: 15 significant digits, trailing zeros dropped, exponent as e+NN / e-NN.
  const s = Number(v.toPrecision(15)).toString();
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}
