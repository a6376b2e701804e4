/**
 * Imports in compiler/ point one way, down the pipeline:
 *
 *   syntax → types → lower → ir ← passes ← schedule ← emit ← compiler/*.ts (pipeline, compile, index)
 *                                     codegen/wgsl ↗ (a leaf: scheduling calls it, it calls no stage)
 *
 * Every folder may import only the folders below it, the shared dependency-free abi/ (Program,
 * KernelSpec, foldGrid, limits), the hand-written WGSL builders in kernels/, and npm or node
 * packages; never runtime/. And no file of compiler/ reaches itself through its imports, not even
 * inside one folder (compiler/ir's primitive and fused ops included).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** What each folder of compiler/ may import, besides itself and the outside allowed below. */
const LAYERS: Record<string, readonly string[]> = {
  'compiler/syntax': [],
  'compiler/types': ['compiler/syntax'],
  'compiler/ir': [],
  'compiler/lower': ['compiler/syntax', 'compiler/types', 'compiler/ir'],
  'compiler/passes': ['compiler/ir'],
  'compiler/codegen/wgsl': ['compiler/ir'],
  'compiler/schedule': ['compiler/ir', 'compiler/passes', 'compiler/codegen/wgsl'],
  'compiler/emit': ['compiler/ir', 'compiler/passes', 'compiler/schedule'],
};
/** The top files (the pipeline, the driver, the index) may import any folder of compiler/. */
const TOP = 'compiler';

interface Import {
  file: string;
  /** Repository-relative path of a relative import; the package name otherwise. */
  target: string;
  typeOnly: boolean;
}

function importsOf(dir: string): Import[] {
  const out: Import[] = [];
  for (const file of readdirSync(join(root, dir), { recursive: true }) as string[]) {
    if (!file.endsWith('.ts')) continue;
    const path = join(dir, file);
    const text = readFileSync(join(root, path), 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)(\s+type)?\s[^'";]*?from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[3]!;
      const target = spec.startsWith('.') ? relative(root, normalize(join(root, dirname(path), spec))) : spec;
      out.push({ file: path, target, typeOnly: m[2] !== undefined });
    }
  }
  return out;
}

const folderOf = (path: string): string => {
  const dir = dirname(path);
  return Object.keys(LAYERS).find((l) => dir === l || dir.startsWith(`${l}/`)) ?? dir;
};

const all = importsOf('compiler');

describe('compiler layering', () => {
  it('knows every folder of compiler/', () => {
    const folders = new Set(all.map((i) => folderOf(i.file)));
    expect([...folders].filter((f) => f !== TOP && !(f in LAYERS))).toEqual([]);
  });

  it('imports nothing from runtime/, not even types', () => {
    expect(all.filter((i) => i.target.startsWith('runtime/')).map((i) => `${i.file} → ${i.target}`)).toEqual([]);
  });

  it('has no arrow back up: every folder imports only the folders below it', () => {
    const bad: string[] = [];
    for (const i of all) {
      const from = folderOf(i.file);
      if (from === TOP || !i.target.startsWith('compiler/')) continue;
      const to = folderOf(i.target);
      if (to !== from && !LAYERS[from]!.includes(to)) bad.push(`${i.file} → ${i.target}`);
    }
    expect(bad).toEqual([]);
  });

  it('reaches outside compiler/ only for abi/, kernels/ and packages', () => {
    // A relative import resolves to a repository path; a package name is not one.
    const repoFolders = new Set(readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'node_modules').map((e) => e.name));
    const bad = all.filter((i) => repoFolders.has(i.target.split('/')[0]!) && !/^(compiler|abi|kernels)\//.test(i.target));
    expect(bad.map((i) => `${i.file} → ${i.target}`)).toEqual([]);
  });

  it('abi/ imports nothing at all', () => {
    expect(importsOf('abi').filter((i) => !i.target.startsWith('abi/')).map((i) => `${i.file} → ${i.target}`)).toEqual([]);
  });

  it('has no import circle between files (types included)', () => {
    const edges = new Map<string, string[]>();
    for (const i of all) {
      if (!i.target.startsWith('compiler/')) continue;
      edges.set(i.file, [...(edges.get(i.file) ?? []), i.target]);
    }
    // compiler/ir included: its op table is split so imports point one way (types ← errors, shape
    // ← ops/spec ← ops/primitive ← ops/body ← ops/fused ← ops/index ← graph ← the rest).
    expect(cycles(edges)).toEqual([]);
  });
});

/** Strongly connected components of more than one file (Tarjan), each sorted. */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}
