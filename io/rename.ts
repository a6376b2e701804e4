/**
 * Rename tables: how a checkpoint's tensor names map to `.swag` paths. A key is a checkpoint-name
 * pattern in which `{name}` captures one dot-free segment (`h.{i}.attn.c_attn.weight`); a value is
 * one target or a list of them (a fused tensor split into several; an empty list drops the tensor
 * on purpose). A target is a path that may use the captures (`layers.{i}.q.W`), optionally sliced
 * along one axis of the tensor as stored and then transposed (2-D).
 */

/** One target of a checkpoint tensor: a `.swag` path (may use the pattern's captures), optionally transposed or sliced on load. */
export type RenameTarget = string | { to: string; transpose?: boolean; slice?: { axis: number; start: number; size: number } };
/** Checkpoint-name pattern -> target(s). `{i}` (any name in braces) captures one dot-free segment. A fused tensor (qkv) lists several sliced targets. */
export type RenameTable = Record<string, RenameTarget | RenameTarget[]>;

/** A target with its captures filled in. */
export interface ResolvedTarget {
  to: string;
  transpose: boolean;
  slice?: { axis: number; start: number; size: number };
}

interface CompiledPattern {
  pattern: string;
  regex: RegExp;
  captures: string[];
  targets: RenameTarget[];
}

const CAPTURE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What a checkpoint name maps to: its targets (possibly none: dropped), or nothing matched. */
export type RenameMatch = { kind: 'renamed'; pattern: string; targets: ResolvedTarget[] } | { kind: 'unmatched' };

/**
 * A compiled rename table. Construction checks the table itself and records every problem in
 * `problems` (patterns, capture names, slice fields) rather than throwing, so a caller can report
 * them together with the checkpoint's.
 */
export class Renamer {
  readonly problems: string[] = [];
  private readonly exact = new Map<string, CompiledPattern>();
  private readonly patterns: CompiledPattern[] = [];

  constructor(table: RenameTable = {}) {
    if (table === null || typeof table !== 'object' || Array.isArray(table)) {
      this.problems.push(`rename must be an object of checkpoint-name pattern -> target(s), got ${Array.isArray(table) ? 'an array' : typeof table}`);
      return;
    }
    for (const [pattern, value] of Object.entries(table)) {
      const captures = [...pattern.matchAll(CAPTURE)].map((m) => m[1]!);
      const stray = pattern.replace(CAPTURE, '').match(/[{}]/);
      if (stray) {
        this.problems.push(`rename '${pattern}': a capture is '{name}' (letters, digits, _), stray '${stray[0]}'`);
        continue;
      }
      const twice = captures.find((c, i) => captures.indexOf(c) !== i);
      if (twice) {
        this.problems.push(`rename '${pattern}': capture '{${twice}}' appears twice`);
        continue;
      }
      const targets = Array.isArray(value) ? value : [value];
      if (!targets.every((t) => this.checkTarget(pattern, t, captures))) continue;
      const regex = new RegExp(`^${pattern.split(CAPTURE).map((part, i) => (i % 2 ? '([^.]+)' : escapeRegex(part))).join('')}$`);
      const compiled = { pattern, regex, captures, targets };
      if (captures.length === 0) this.exact.set(pattern, compiled);
      else this.patterns.push(compiled);
    }
  }

  private checkTarget(pattern: string, t: unknown, captures: string[]): t is RenameTarget {
    const where = `rename '${pattern}'`;
    const to = typeof t === 'string' ? t : t && typeof t === 'object' && !Array.isArray(t) ? (t as { to?: unknown }).to : undefined;
    if (typeof to !== 'string' || to === '') {
      this.problems.push(`${where}: a target is a path or { to, transpose?, slice? }, got ${JSON.stringify(t)}`);
      return false;
    }
    const unknown = [...to.matchAll(CAPTURE)].map((m) => m[1]!).filter((c) => !captures.includes(c));
    if (unknown.length) {
      this.problems.push(`${where}: target '${to}' uses ${unknown.map((c) => `{${c}}`).join(', ')}, which the pattern does not capture`);
      return false;
    }
    if (typeof t === 'string') return true;
    const { transpose, slice, ...rest } = t as { to: string; transpose?: unknown; slice?: unknown };
    const extra = Object.keys(rest).filter((k) => k !== 'to');
    if (extra.length) {
      this.problems.push(`${where}: target '${to}' has unknown field(s) ${extra.join(', ')} (known: to, transpose, slice)`);
      return false;
    }
    if (transpose !== undefined && typeof transpose !== 'boolean') {
      this.problems.push(`${where}: target '${to}': transpose must be true or false`);
      return false;
    }
    if (slice !== undefined) {
      const s = slice as Record<string, unknown>;
      const ok = s && typeof s === 'object' && ['axis', 'start', 'size'].every((k) => Number.isSafeInteger(s[k]) && (s[k] as number) >= 0) && (s.size as number) > 0;
      if (!ok) {
        this.problems.push(`${where}: target '${to}': slice must be { axis, start, size } with non-negative integers (size > 0), got ${JSON.stringify(slice)}`);
        return false;
      }
    }
    return true;
  }

  /** Where a checkpoint name goes. Exact keys win over patterns; two patterns matching one name is a problem (returned as `ambiguous`). */
  match(name: string): RenameMatch | { kind: 'ambiguous'; patterns: string[] } {
    const exact = this.exact.get(name);
    if (exact) return { kind: 'renamed', pattern: exact.pattern, targets: exact.targets.map((t) => resolveTarget(t, {})) };
    const hits: Array<{ p: CompiledPattern; values: Record<string, string> }> = [];
    for (const p of this.patterns) {
      const m = p.regex.exec(name);
      if (m) hits.push({ p, values: Object.fromEntries(p.captures.map((c, i) => [c, m[i + 1]!])) });
    }
    if (hits.length > 1) return { kind: 'ambiguous', patterns: hits.map((h) => h.p.pattern) };
    if (hits.length === 0) return { kind: 'unmatched' };
    const { p, values } = hits[0]!;
    return { kind: 'renamed', pattern: p.pattern, targets: p.targets.map((t) => resolveTarget(t, values)) };
  }
}

function resolveTarget(t: RenameTarget, values: Readonly<Record<string, string>>): ResolvedTarget {
  const fill = (s: string) => s.replace(CAPTURE, (_, c: string) => values[c]!);
  if (typeof t === 'string') return { to: fill(t), transpose: false };
  return { to: fill(t.to), transpose: t.transpose ?? false, ...(t.slice ? { slice: { ...t.slice } } : {}) };
}

/** The shape a target gets from a stored tensor of `shape`, or why it cannot. */
export function targetShape(shape: readonly number[], t: ResolvedTarget): number[] | string {
  const out = [...shape];
  if (t.slice) {
    const { axis, start, size } = t.slice;
    if (axis >= shape.length) return `slice axis ${axis} is out of range for a ${shape.length}-D tensor [${shape.join(', ')}]`;
    if (start + size > shape[axis]!) return `slice [${start}, ${start + size}) of axis ${axis} runs past its size ${shape[axis]} (tensor [${shape.join(', ')}])`;
    out[axis] = size;
  }
  if (t.transpose) {
    if (out.length !== 2) return `transpose needs a 2-D tensor, got [${out.join(', ')}]`;
    out.reverse();
  }
  return out;
}

/** Applies a target's slice (on the stored layout) then its transpose; returns `data` itself when there is neither. */
export function applyTarget(data: Float32Array, shape: readonly number[], t: ResolvedTarget): Float32Array {
  let cur = data;
  const dims = [...shape];
  if (t.slice) {
    const { axis, start, size } = t.slice;
    const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
    const outer = dims.slice(0, axis).reduce((p, d) => p * d, 1);
    const span = dims[axis]! * inner;
    const out = new Float32Array(outer * size * inner);
    for (let o = 0; o < outer; o++) out.set(cur.subarray(o * span + start * inner, o * span + (start + size) * inner), o * size * inner);
    cur = out;
    dims[axis] = size;
  }
  if (t.transpose) {
    const [rows, cols] = dims as [number, number];
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = cur[i * cols + j]!;
    cur = out;
  }
  return cur;
}
