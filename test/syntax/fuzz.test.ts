import { describe, expect, it } from 'vitest';
import { fuzzInput, fuzzOne, loadExamples } from './fuzz-harness.ts';

/*
 * A few thousand random token streams and mutated examples through parse, fmt and check: each
 * ends in "ok" or in diagnostics with valid spans, never an exception; whatever parses formats
 * idempotently and re-parses to the same tree. `npm run fuzz` runs many more.
 */
const COUNT = 3000;

describe('fuzz', () => {
  it(`survives ${COUNT} random and mutated inputs`, () => {
    const byName = loadExamples();
    const examples = [...byName.values()];
    const tally = { ok: 0, diagnostics: 0, parsed: 0 };
    for (let i = 0; i < COUNT; i++) {
      const input = fuzzInput(20241, i, examples);
      let result;
      try {
        result = fuzzOne(input, byName);
      } catch (e) {
        throw new Error(`input ${i} failed: ${(e as Error).message}\n--- input ---\n${input}`);
      }
      tally[result.outcome]++;
      if (result.parsed) tally.parsed++;
    }
    expect(tally.ok + tally.diagnostics).toBe(COUNT);
    // The mix must exercise the formatter and the checker, not just the parser's error path.
    expect(tally.parsed).toBeGreaterThan(COUNT / 10);
    expect(tally.ok).toBeGreaterThan(COUNT / 50);
  });
});
