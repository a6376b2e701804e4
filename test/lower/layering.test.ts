/** compiler/lower sits between the checker and the IR: it imports those, never passes, emit, runtime or kernels. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', 'compiler', 'lower');

describe('layering', () => {
  it('compiler/lower imports only itself, the IR, the checker’s types and node built-ins', () => {
    const allowed = ['./', '../ir/', '../types/', '../syntax/', 'node:'];
    const bad: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
        if (!allowed.some((a) => m[1]!.startsWith(a))) bad.push(`${file}: ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
