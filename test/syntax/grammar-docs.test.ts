import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILTINS } from '../../compiler/index.ts';
import { grammarHtml } from '../../scripts/gen-grammar-docs.ts';

describe('docs', () => {
  it('docs/grammar.html is generated from the current grammar (run scripts/gen-grammar-docs.ts)', () => {
    expect(readFileSync('docs/grammar.html', 'utf8') === grammarHtml()).toBe(true);
  });

  it('docs/language.md describes every builtin', () => {
    const doc = readFileSync('docs/language.md', 'utf8');
    const missing = [...BUILTINS.keys()].filter((name) => !doc.includes(`\`${name}`));
    expect(missing).toEqual([]);
  });
});
