/**
 * R lazy-load databases (what R packages install for their data sets and code): a `<base>.rdx`
 * index — a saveRDS() of list(variables, references, compressed), where `variables` and `references`
 * are named lists of (offset, length) integer pairs into `<base>.rdb` — and the `.rdb` of compressed
 * serialized objects. Objects refer to environments stored under `references` ("env::N") through
 * persistent references, resolved here like R's lazyLoadDBexec does: an environment is created and
 * cached before its contents are read, so cycles terminate.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { decompressLazyLoadEntry } from './decompress.ts';
import { RFormatError } from './errors.ts';
import { readRds } from './rds.ts';
import { namesOf, type REnvironment, type RValue } from './types.ts';
import { newEnvironment, unserialize } from './unserialize.ts';

interface Key {
  readonly offset: number;
  readonly length: number;
}

/** Thrown when `<base>.rdx` or `<base>.rdb` is missing, so callers can suggest how to fetch them. */
export class LazyLoadDbMissingError extends Error {
  override readonly name = 'LazyLoadDbMissingError';
}

/**
 * Opens the lazy-load database `dir/<basename>.rdx|.rdb` and returns one loader per variable. Each
 * loader reads, decompresses and unserializes its object on every call (R data sets are read once).
 */
export function readLazyLoadDb(dir: string, basename = 'Rdata'): Map<string, () => RValue> {
  const rdxPath = join(dir, `${basename}.rdx`);
  const rdbPath = join(dir, `${basename}.rdb`);
  for (const p of [rdxPath, rdbPath]) if (!existsSync(p)) throw new LazyLoadDbMissingError(`R lazy-load database file ${p} not found`);
  const index = readRds(rdxPath);
  const variables = keyTable(field(index, 'variables', rdxPath), `${rdxPath} variables`);
  const references = keyTable(field(index, 'references', rdxPath), `${rdxPath} references`);
  const compressed = compressionOf(field(index, 'compressed', rdxPath), rdxPath);

  const fetch = (key: Key, what: string, hook: (spec: readonly string[]) => RValue): RValue => {
    const raw = readRange(rdbPath, key, what);
    return unserialize(decompressLazyLoadEntry(raw, compressed, what), { persistentHook: hook });
  };

  const loaders = new Map<string, () => RValue>();
  for (const [name, key] of variables) {
    loaders.set(name, () => {
      // Environments are shared within one load, as in R, so references to one env stay one object.
      const envs = new Map<string, REnvironment>();
      const hook = (spec: readonly string[]): RValue => {
        const envName = spec[0] ?? '';
        const cached = envs.get(envName);
        if (cached) return cached;
        const envKey = references.get(envName);
        if (!envKey) throw new RFormatError(`${rdxPath}: persistent reference ${JSON.stringify(envName)} is not in references`);
        const env = newEnvironment('persistent', spec);
        envs.set(envName, env);
        fillEnvironment(env, fetch(envKey, `${basename} reference ${envName}`, hook), envName);
        return env;
      };
      return fetch(key, `${basename} variable ${name}`, hook);
    });
  }
  return loaders;
}

/** makeLazyLoadDB stores an environment as list(bindings, enclos, attributes, isS4, locked). */
function fillEnvironment(env: REnvironment, data: RValue, envName: string): void {
  if (data.kind !== 'list') throw new RFormatError(`lazy-load environment ${envName} is a ${data.kind}, expected a list`);
  const part = (name: string): RValue | undefined => {
    const i = namesOf(data)?.indexOf(name) ?? -1;
    return i >= 0 ? data.items[i] : undefined;
  };
  const bindings = part('bindings');
  if (bindings?.kind === 'list') {
    const names = namesOf(bindings) ?? [];
    bindings.items.forEach((v, i) => {
      const n = names[i];
      if (n != null) env.bindings.set(n, v);
    });
  }
  env.enclosure = part('enclos') ?? null;
  const attrs = part('attributes');
  if (attrs?.kind === 'list') {
    const names = namesOf(attrs) ?? [];
    env.attributes = new Map(attrs.items.flatMap((v, i) => (names[i] != null ? [[names[i]!, v] as const] : [])));
  }
  const locked = part('locked');
  env.locked = locked?.kind === 'logical' && locked.data[0] === 1;
}

function field(index: RValue, name: string, path: string): RValue {
  const i = namesOf(index)?.indexOf(name) ?? -1;
  if (index.kind !== 'list' || i < 0) throw new RFormatError(`${path} is not a lazy-load index (no ${name} entry)`);
  return index.items[i]!;
}

function keyTable(v: RValue, what: string): Map<string, Key> {
  const out = new Map<string, Key>();
  if (v.kind === 'null') return out;
  if (v.kind !== 'list') throw new RFormatError(`${what}: expected a named list, got ${v.kind}`);
  const names = namesOf(v) ?? [];
  v.items.forEach((k, i) => {
    const name = names[i];
    if (name == null) throw new RFormatError(`${what}: entry ${i + 1} has no name`);
    if ((k.kind !== 'integer' && k.kind !== 'double') || k.data.length !== 2) {
      throw new RFormatError(`${what}: entry ${name} is not an (offset, length) pair`);
    }
    out.set(name, { offset: k.data[0]!, length: k.data[1]! });
  });
  return out;
}

function compressionOf(v: RValue, path: string): number {
  if ((v.kind === 'logical' || v.kind === 'integer' || v.kind === 'double') && v.data.length === 1) return v.data[0]!;
  throw new RFormatError(`${path}: 'compressed' must be a scalar, got ${v.kind}`);
}

function readRange(path: string, key: Key, what: string): Uint8Array {
  const buf = Buffer.alloc(key.length);
  const fd = openSync(path, 'r');
  try {
    const got = readSync(fd, buf, 0, key.length, key.offset);
    if (got !== key.length) throw new RFormatError(`${what}: ${path} ends before offset ${key.offset + key.length}`);
  } finally {
    closeSync(fd);
  }
  return buf;
}
