import { mulberry32 } from '../../kernels/cpu/seeded.ts';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, format, formatDiagnostic, parse } from '../../compiler/index.ts';
import type { SourceDiagnostic as Diagnostic } from '../../compiler/index.ts';
import { LineIndex, type Span } from '../../compiler/syntax/span.ts';
import { BUILTINS } from '../../compiler/types/builtins.ts';

/*
 * The fuzzer behind test/syntax/fuzz.test.ts and `npm run fuzz`: random token streams and
 * mutations of the shipped examples go through parse → format → check, and every input must end
 * in "ok" or in diagnostics with valid spans, never in an exception; inputs that parse must
 * format idempotently and re-parse to the same tree.
 */

const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

/** The shipped examples by file name (imports resolve against these). */
export function loadExamples(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(EXAMPLES_DIR).sort()) if (f.endsWith('.swag')) out.set(f, readFileSync(join(EXAMPLES_DIR, f), 'utf8'));
  return out;
}

/** mulberry32: small, fast, seeded. */
export const rng = mulberry32;

const KEYWORDS = ['adapter', 'block', 'model', 'posterior', 'finetune', 'import', 'on', 'over', 'linear', 'param', 'frozen', 'dim', 'fn', 'let', 'return', 'stat', 'sample', 'adapt', 'with', 'f32', 'i32', 'true', 'false'];
const PUNCT = ['(', ')', '{', '}', '[', ']', ',', ':', '=', '+', '-', '*', '/', '@', '.', '->', '^T', '"x*"', '"fc1"', '// note', '\n'];
const NAMES = ['x', 'W', 'A', 'B', 'r', 'in', 'out', 'n', 'd', 'h', 'dh', 't', 'b', 'p', 'K', 'theta', 'mean', 'alpha', 'forward', 'params', 'normal', 'bias', 'layers', 'qkv', 'LoRA', 'SWAG', 'M', 'zeros', 'weight'];
const NUMBERS = ['0', '1', '2', '3', '16', '0.5', '1e-30', '-1', '3.0', '99999999999999999999', '0'];

type Rand = () => number;

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

const VOCAB = [...KEYWORDS, ...PUNCT, ...NAMES, ...NUMBERS, ...[...BUILTINS.keys()]];

/** A random stream of language tokens. */
export function randomTokens(r: Rand): string {
  const n = 1 + Math.floor(r() * 60);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(pick(r, VOCAB));
  return parts.map((p) => p + (r() < 0.2 ? '\n' : ' ')).join('');
}

/** Splits source into tokens and the whitespace/comments between them, so mutations keep layout. */
function pieces(text: string): string[] {
  return text.match(/\/\/[^\n]*|"[^"\n]*"?|\^T|->|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\s+|./g) ?? [];
}

const CHARS = 'abcxyzWAB019_(){}[],:=+-*/@.^"\n #';

/** One to three token- or character-level mutations of `text`. */
export function mutate(r: Rand, text: string): string {
  let out = text;
  const count = 1 + Math.floor(r() * 3);
  for (let m = 0; m < count; m++) {
    const kind = Math.floor(r() * 8);
    if (kind === 7) {
      // Usually keeps the syntax: a name becomes another name or a number, exercising the checker.
      const ps = pieces(out);
      const names = ps.map((p, i) => (/^[A-Za-z_]/.test(p) && !KEYWORDS.includes(p) ? i : -1)).filter((i) => i >= 0);
      if (names.length === 0) continue;
      ps[pick(r, names)] = r() < 0.8 ? pick(r, [...NAMES, ...BUILTINS.keys()]) : pick(r, NUMBERS);
      out = ps.join('');
    } else if (kind <= 3) {
      const ps = pieces(out);
      const tokenIdx = ps.map((p, i) => (/^\s+$/.test(p) ? -1 : i)).filter((i) => i >= 0);
      if (tokenIdx.length === 0) continue;
      const i = pick(r, tokenIdx);
      if (kind === 0) ps.splice(i, 1);
      else if (kind === 1) ps.splice(i, 0, ps[i]!, ' ');
      else if (kind === 2) {
        const j = pick(r, tokenIdx);
        [ps[i], ps[j]] = [ps[j]!, ps[i]!];
      } else ps[i] = pick(r, VOCAB);
      out = ps.join('');
    } else {
      const at = Math.floor(r() * (out.length + 1));
      if (kind === 4) out = out.slice(0, at) + pick(r, [...CHARS]) + out.slice(at);
      else if (kind === 5) out = out.slice(0, at) + out.slice(at + 1);
      else out = out.slice(0, at) + pick(r, [...CHARS]) + out.slice(at + 1);
    }
  }
  return out;
}

/** The tree without positions, for comparing parses of differently laid out text. */
export function stripSpans(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(stripSpans);
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (k !== 'span' && k !== 'pathSpan') out[k] = stripSpans(v);
    return out;
  }
  return x;
}

function spanProblem(span: Span, sources: Map<string, string>): string | undefined {
  const text = sources.get(span.file);
  if (text === undefined) return `span in unknown file ${span.file}`;
  const index = new LineIndex(text);
  for (const p of [span.start, span.end]) {
    if (!Number.isInteger(p.offset) || p.offset < 0 || p.offset > text.length) return `offset ${p.offset} outside 0..${text.length}`;
    const q = index.position(p.offset);
    if (q.line !== p.line || q.col !== p.col) return `position ${p.line}:${p.col} does not match offset ${p.offset} (${q.line}:${q.col})`;
  }
  if (span.end.offset < span.start.offset) return 'span ends before it starts';
  return undefined;
}

export interface FuzzResult {
  outcome: 'ok' | 'diagnostics';
  parsed: boolean;
}

/** Runs one input through everything; throws (with a reason) when an invariant fails. */
export function fuzzOne(input: string, imports: Map<string, string>): FuzzResult {
  const parsed = parse(input, 'fuzz.swag');
  const sources = new Map([['fuzz.swag', input], ...imports]);
  const validate = (ds: Diagnostic[]) => {
    for (const d of ds) {
      for (const span of [d.span, ...(d.notes ?? []).flatMap((n) => (n.span ? [n.span] : []))]) {
        const problem = spanProblem(span, sources);
        if (problem) throw new Error(`bad span for "${d.message}": ${problem}`);
      }
      if (!d.message) throw new Error('empty diagnostic message');
      formatDiagnostic(d, (f) => sources.get(f));
    }
  };
  validate(parsed.diagnostics);
  const ok = parsed.diagnostics.length === 0;
  if (ok) {
    const once = format(parsed.ast, parsed.comments);
    const again = parse(once, 'fuzz.swag');
    if (again.diagnostics.length > 0) throw new Error(`formatted text does not parse: ${again.diagnostics[0]!.message}\n--- formatted ---\n${once}`);
    if (JSON.stringify(stripSpans(again.ast)) !== JSON.stringify(stripSpans(parsed.ast))) throw new Error(`parse(fmt(x)) differs from parse(x)\n--- formatted ---\n${once}`);
    if (again.comments.length !== parsed.comments.length) throw new Error(`formatting lost comments (${parsed.comments.length} → ${again.comments.length})`);
    const twice = format(again.ast, again.comments);
    if (twice !== once) throw new Error(`formatting is not idempotent\n--- once ---\n${once}\n--- twice ---\n${twice}`);
  }
  const checked = check(parsed, { readFile: (p) => imports.get(p) });
  validate(checked.diagnostics);
  return { outcome: checked.diagnostics.length === 0 ? 'ok' : 'diagnostics', parsed: ok };
}

/** The i-th input of a run: alternately a random token stream and a mutated example. */
export function fuzzInput(seed: number, i: number, examples: string[]): string {
  const r = rng(seed * 1_000_003 + i);
  return i % 3 === 0 ? randomTokens(r) : mutate(r, pick(r, examples));
}
