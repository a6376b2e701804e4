/**
 * Imports point one way: syntax → types → ir → passes → emit. The IR and the passes must not
 * reach up into the front end or sideways into the runtime and kernels.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function importsOf(dir: string): { file: string; spec: string }[] {
  const out: { file: string; spec: string }[] = [];
  for (const file of readdirSync(join(root, dir), { recursive: true }) as string[]) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(root, dir, file), 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) out.push({ file: join(dir, file), spec: m[1]! });
  }
  return out;
}

describe('layering', () => {
  it('compiler/ir imports only itself, the shared abi/ and node built-ins', () => {
    // Relative imports are resolved: compiler/ir has subfolders (ops/).
    const inside = ({ file, spec }: { file: string; spec: string }): boolean =>
      spec.startsWith('.') && /^(compiler\/ir|abi)\//.test(normalize(join(dirname(file), spec)));
    const bad = importsOf('compiler/ir').filter((i) => !inside(i) && !i.spec.startsWith('node:'));
    expect(bad).toEqual([]);
  });

  it('compiler/passes imports only the IR, itself and node built-ins', () => {
    const bad = importsOf('compiler/passes').filter(
      ({ spec }) => !spec.startsWith('./') && !spec.startsWith('../ir/') && !spec.startsWith('node:'),
    );
    expect(bad).toEqual([]);
  });
});
