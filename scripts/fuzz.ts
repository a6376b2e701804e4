/**
 * npm run fuzz -- [--count N] [--seed S]
 *
 * Feeds random token streams and mutations of the examples through parse, format and check (see
 * test/syntax/fuzz-harness.ts). Prints a summary; exits 1 with the failing inputs if any input
 * threw or broke an invariant (bad span, fmt not idempotent, parse(fmt(x)) ≠ parse(x)).
 */
import { fuzzInput, fuzzOne, loadExamples } from '../test/syntax/fuzz-harness.ts';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`fuzz: ${name} needs a whole number\nusage: npm run fuzz -- [--count N] [--seed S]\n`);
    process.exit(2);
  }
  return v;
}

const count = option('--count', 50_000);
const seed = option('--seed', Date.now() % 1_000_000);
const examplesByName = loadExamples();
const examples = [...examplesByName.values()];
const tally = { ok: 0, diagnostics: 0, parsed: 0 };
const failures: { i: number; input: string; error: string }[] = [];
const start = performance.now();
for (let i = 0; i < count; i++) {
  const input = fuzzInput(seed, i, examples);
  try {
    const r = fuzzOne(input, examplesByName);
    tally[r.outcome]++;
    if (r.parsed) tally.parsed++;
  } catch (e) {
    failures.push({ i, input, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    if (failures.length >= 20) break;
  }
  if ((i + 1) % 10_000 === 0) process.stderr.write(`  ${i + 1} inputs…\n`);
}
const seconds = (performance.now() - start) / 1000;
const total = tally.ok + tally.diagnostics + failures.length;
process.stdout.write(
  `fuzz: seed ${seed}, ${total} inputs in ${seconds.toFixed(1)} s: ${tally.ok} ok, ${tally.diagnostics} with diagnostics ` +
    `(${tally.parsed} parsed and round-tripped through fmt), ${failures.length} failures\n`,
);
for (const f of failures.slice(0, 5)) {
  process.stdout.write(`\n--- failure at input ${f.i} (rerun: npm run fuzz -- --seed ${seed} --count ${f.i + 1}) ---\n${f.input}\n--- error ---\n${f.error}\n`);
}
process.exitCode = failures.length > 0 ? 1 : 0;
