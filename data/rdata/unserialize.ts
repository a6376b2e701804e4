/**
 * R's unserialize() for the XDR ("X\n") binary format, versions 2 and 3 — what saveRDS(), serialize()
 * and lazy-load databases write. Follows ReadItem in R's src/main/serialize.c: each item starts with a
 * flags integer (type, levels, object/attribute/tag bits); symbols, environments and persistent
 * references enter a reference table that later REFSXP items point back into.
 */
import { expandAltrep } from './altrep.ts';
import { RFormatError, RUnsupportedError } from './errors.ts';
import { CHAR_ASCII, CHAR_BYTES, CHAR_LATIN1, CHAR_UTF8, SXP, unpackFlags, type ItemFlags } from './sexpTypes.ts';
import {
  R_NULL,
  type REnvironment,
  type RExternalPointer,
  type RPairList,
  type RPairListItem,
  type RValue,
} from './types.ts';
import { XdrStream } from './xdrStream.ts';

export interface UnserializeOptions {
  /**
   * Resolves a PERSISTSXP item (R's `refhook`): given its strings, returns the object. Lazy-load
   * databases use this for environments stored separately ("env::N").
   */
  readonly persistentHook?: (spec: readonly string[]) => RValue;
}

/** Header of a serialization stream. */
export interface SerializationHeader {
  readonly version: 2 | 3;
  /** R version that wrote it, e.g. "4.2.2". */
  readonly writerVersion: string;
  /** Native encoding of the writer (version 3 only), used for strings without an encoding mark. */
  readonly nativeEncoding: string | null;
}

/** Unserializes one R object from `bytes` (which must start with the "X\n" format marker). */
export function unserialize(bytes: Uint8Array, options: UnserializeOptions = {}): RValue {
  return unserializeWithHeader(bytes, options).value;
}

export function unserializeWithHeader(
  bytes: Uint8Array,
  options: UnserializeOptions = {},
): { header: SerializationHeader; value: RValue } {
  const format = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0);
  if (format !== 'X\n') {
    const known: Record<string, string> = { 'A\n': 'ASCII', 'B\n': 'native binary' };
    throw new (format in known ? RUnsupportedError : RFormatError)(
      format in known
        ? `R serialization format ${known[format]} is not supported; only XDR ("X\\n") is`
        : `not an R serialization stream (starts with ${JSON.stringify(format)}, expected "X\\n")`,
    );
  }
  const stream = new XdrStream(bytes.subarray(2));
  const version = stream.int();
  const writer = stream.int();
  stream.int(); // Minimal reader version; we check the format version instead.
  if (version !== 2 && version !== 3) {
    throw new RUnsupportedError(`R serialization version ${version} is not supported (only 2 and 3)`);
  }
  let nativeEncoding: string | null = null;
  if (version === 3) {
    const n = stream.int();
    nativeEncoding = Buffer.from(stream.bytesOf(n)).toString('latin1');
  }
  const header: SerializationHeader = {
    version,
    writerVersion: `${writer >> 16}.${(writer >> 8) & 0xff}.${writer & 0xff}`,
    nativeEncoding,
  };
  const reader = new ItemReader(stream, header, options);
  const value = reader.item();
  return { header, value };
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

class ItemReader {
  private readonly refs: RValue[] = [];

  constructor(
    private readonly stream: XdrStream,
    private readonly header: SerializationHeader,
    private readonly options: UnserializeOptions,
  ) {}

  item(): RValue {
    return this.itemWithFlags(unpackFlags(this.stream.int()));
  }

  private itemWithFlags(f: ItemFlags): RValue {
    const s = this.stream;
    switch (f.type) {
      case SXP.NILVALUE:
        return R_NULL;
      case SXP.GLOBALENV:
        return wellKnownEnvironment('global');
      case SXP.BASEENV:
        return wellKnownEnvironment('base');
      case SXP.EMPTYENV:
        return wellKnownEnvironment('empty');
      case SXP.BASENAMESPACE:
        return wellKnownEnvironment('base-namespace');
      case SXP.UNBOUNDVALUE:
        return { kind: 'unbound' };
      case SXP.MISSINGARG:
        return { kind: 'missing-arg' };
      case SXP.REF: {
        const index = f.raw >>> 8 || s.int();
        const v = this.refs[index - 1];
        if (v === undefined) throw new RFormatError(`reference ${index} out of range (table has ${this.refs.length})`);
        return v;
      }
      case SXP.PERSIST: {
        const spec = this.stringVector();
        const hook = this.options.persistentHook;
        if (!hook) throw new RUnsupportedError(`persistent reference ${JSON.stringify(spec)} needs a persistentHook`);
        return this.register(hook(spec));
      }
      case SXP.SYM: {
        const name = this.item();
        if (name.kind !== 'character' || name.data.length !== 1 || name.data[0] === null) {
          throw new RFormatError('symbol without a print name');
        }
        return this.register({ kind: 'symbol', name: name.data[0] });
      }
      case SXP.PACKAGE:
      case SXP.NAMESPACE: {
        const spec = this.stringVector();
        const env = newEnvironment(f.type === SXP.PACKAGE ? 'package' : 'namespace', spec);
        return this.register(env);
      }
      case SXP.ENV:
        return this.environment();
      case SXP.LIST:
      case SXP.LANG:
      case SXP.DOT:
        return this.pairlist(f);
      case SXP.CLO:
      case SXP.PROM:
        return this.closureOrPromise(f);
      case SXP.ALTREP: {
        const info = this.item();
        const state = this.item();
        const attributes = this.attributesFrom(this.item());
        if (info.kind !== 'pairlist' || info.items.length < 2) throw new RFormatError('ALTREP item without class info');
        return expandAltrep(symbolName(info.items[0]!.value), symbolName(info.items[1]!.value), state, attributes);
      }
      case SXP.CHAR: {
        // Reached only when a CHARSXP stands alone (symbol names); STRSXP elements go through string().
        return { kind: 'character', data: [this.string(f)], attributes: new Map() };
      }
      case SXP.EXTPTR: {
        const ptr = { kind: 'external-pointer', protectedValue: R_NULL, tag: R_NULL, attributes: new Map() } as {
          -readonly [K in keyof RExternalPointer]: RExternalPointer[K];
        };
        this.register(ptr);
        ptr.protectedValue = this.item();
        ptr.tag = this.item();
        ptr.attributes = this.maybeAttributes(f);
        return ptr;
      }
      case SXP.WEAKREF: {
        const ref = { kind: 'weakref' as const, attributes: new Map<string, RValue>() };
        this.register(ref);
        for (const [k, v] of this.maybeAttributes(f)) ref.attributes.set(k, v);
        return ref;
      }
      case SXP.SPECIAL:
      case SXP.BUILTIN: {
        const n = s.int();
        return { kind: 'builtin', name: Buffer.from(s.bytesOf(n)).toString('latin1') };
      }
      case SXP.LGL:
      case SXP.INT: {
        const data = s.int32Array(s.length());
        return { kind: f.type === SXP.LGL ? 'logical' : 'integer', data, attributes: this.maybeAttributes(f) };
      }
      case SXP.REAL: {
        const data = s.float64Array(s.length());
        return { kind: 'double', data, attributes: this.maybeAttributes(f) };
      }
      case SXP.CPLX: {
        const data = s.float64Array(2 * s.length());
        return { kind: 'complex', data, attributes: this.maybeAttributes(f) };
      }
      case SXP.STR: {
        const n = s.length();
        const data = new Array<string | null>(n);
        for (let i = 0; i < n; i++) {
          const cf = unpackFlags(s.int());
          if (cf.type !== SXP.CHAR) throw new RFormatError(`character vector element of type ${cf.type}`);
          data[i] = this.string(cf);
        }
        return { kind: 'character', data, attributes: this.maybeAttributes(f) };
      }
      case SXP.VEC:
      case SXP.EXPR: {
        const n = s.length();
        const items = new Array<RValue>(n);
        for (let i = 0; i < n; i++) items[i] = this.item();
        return { kind: 'list', expression: f.type === SXP.EXPR, items, attributes: this.maybeAttributes(f) };
      }
      case SXP.RAW: {
        const data = Uint8Array.from(s.bytesOf(s.length()));
        return { kind: 'raw', data, attributes: this.maybeAttributes(f) };
      }
      case SXP.S4:
        return { kind: 's4', attributes: this.maybeAttributes(f) };
      case SXP.BCODE:
      case SXP.BCREPDEF:
      case SXP.BCREPREF:
      case SXP.ATTRLANG:
      case SXP.ATTRLIST:
        throw new RUnsupportedError('R byte code (compiled closures) is not supported');
      case SXP.CLASSREF:
      case SXP.GENERICREF:
        throw new RUnsupportedError(`R serialization item type ${f.type} (class/generic reference) is not supported`);
      default:
        throw new RFormatError(`unknown R serialization item type ${f.type} at offset ${s.position}`);
    }
  }

  private register<T extends RValue>(v: T): T {
    this.refs.push(v);
    return v;
  }

  /** A CHARSXP body: length (−1 for NA) and bytes, decoded by the encoding marks in `levels`. */
  private string(f: ItemFlags): string | null {
    const n = this.stream.int();
    if (n === -1) return null;
    const bytes = this.stream.bytesOf(n);
    if (f.levels & CHAR_UTF8) return Buffer.from(bytes).toString('utf8');
    // Latin-1, and "bytes" strings kept one byte per code unit.
    if (f.levels & (CHAR_LATIN1 | CHAR_BYTES | CHAR_ASCII)) return Buffer.from(bytes).toString('latin1');
    // Unmarked: the writer's native encoding (known in version 3); else UTF-8 when valid, else Latin-1.
    const native = this.header.nativeEncoding?.toLowerCase().replace(/[^a-z0-9]/g, '');
    if (native === 'latin1' || native === 'iso88591') return Buffer.from(bytes).toString('latin1');
    try {
      return utf8Strict.decode(bytes);
    } catch {
      return Buffer.from(bytes).toString('latin1');
    }
  }

  /** InStringVec: a 0, a length, then CHARSXP items (used by persistent/namespace/package refs). */
  private stringVector(): string[] {
    if (this.stream.int() !== 0) throw new RFormatError('names in persistent strings are not supported');
    const n = this.stream.int();
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const v = this.item();
      if (v.kind !== 'character' || v.data[0] == null) throw new RFormatError('persistent string vector holds a non-string');
      out.push(v.data[0]);
    }
    return out;
  }

  private maybeAttributes(f: ItemFlags): Map<string, RValue> {
    return f.hasAttributes ? this.attributesFrom(this.item()) : new Map();
  }

  private attributesFrom(v: RValue): Map<string, RValue> {
    if (v.kind === 'null') return new Map();
    if (v.kind !== 'pairlist') throw new RFormatError(`attributes must be a pairlist, got ${v.kind}`);
    const out = new Map<string, RValue>();
    for (const { tag, value } of v.items) {
      if (tag === null) throw new RFormatError('untagged attribute');
      out.set(tag, value);
    }
    return out;
  }

  /**
   * A CAR/CDR chain, read iteratively so long pairlists cannot overflow the stack. Only the first
   * cell's attributes are kept (they are the pairlist's; R puts none on later cells in practice).
   */
  private pairlist(first: ItemFlags): RPairList {
    const kind = first.type === SXP.LANG ? 'language' : first.type === SXP.DOT ? 'dots' : 'pairlist';
    const items: RPairListItem[] = [];
    let attributes: Map<string, RValue> = new Map();
    let f = first;
    for (;;) {
      const cellAttributes = this.maybeAttributes(f);
      if (items.length === 0) attributes = cellAttributes;
      const tag = f.hasTag ? this.item() : null;
      const value = this.item();
      items.push({ tag: tag === null ? null : tagName(tag), value });
      const next = unpackFlags(this.stream.int());
      if (next.type === SXP.NILVALUE) return { kind, items, attributes };
      if (next.type === SXP.LIST || next.type === SXP.LANG || next.type === SXP.DOT) {
        f = next;
        continue;
      }
      return { kind, items, attributes, tail: this.itemWithFlags(next) };
    }
  }

  private closureOrPromise(f: ItemFlags): RValue {
    const attributes = this.maybeAttributes(f);
    const environment = f.hasTag ? this.item() : R_NULL;
    const car = this.item();
    const cdr = this.item();
    return f.type === SXP.CLO
      ? { kind: 'closure', formals: car, body: cdr, environment, attributes }
      : { kind: 'promise', value: car, expression: cdr, environment, attributes };
  }

  /** ENVSXP: locked flag, then enclosure, frame, hash table and attributes — registered before filling. */
  private environment(): REnvironment {
    const locked = this.stream.int() !== 0;
    const env = this.register(newEnvironment('serialized', []));
    env.locked = locked;
    env.enclosure = this.item();
    addBindings(env, this.item());
    const hashtab = this.item();
    if (hashtab.kind === 'list') for (const bucket of hashtab.items) addBindings(env, bucket);
    env.attributes = this.attributesFrom(this.item());
    return env;
  }
}

export function newEnvironment(origin: REnvironment['origin'], spec: readonly string[]): REnvironment {
  return { kind: 'environment', origin, spec, bindings: new Map(), enclosure: null, locked: false, attributes: new Map() };
}

function wellKnownEnvironment(origin: 'global' | 'base' | 'empty' | 'base-namespace'): REnvironment {
  return newEnvironment(origin, []);
}

function addBindings(env: REnvironment, frame: RValue): void {
  if (frame.kind === 'null') return;
  if (frame.kind !== 'pairlist') throw new RFormatError(`environment frame must be a pairlist, got ${frame.kind}`);
  for (const { tag, value } of frame.items) if (tag !== null) env.bindings.set(tag, value);
}

function symbolName(v: RValue): string {
  if (v.kind !== 'symbol') throw new RFormatError(`expected a symbol, got ${v.kind}`);
  return v.name;
}

function tagName(v: RValue): string | null {
  if (v.kind === 'symbol') return v.name;
  if (v.kind === 'null') return null;
  throw new RFormatError(`pairlist tag must be a symbol, got ${v.kind}`);
}
