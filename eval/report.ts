/**
 * Results tables: methods × splits × metrics, as markdown for people and JSON for programs.
 * Output depends only on the input (order of first appearance, fixed number formatting), so a
 * rerun with the same numbers gives the same bytes and diffs stay readable.
 */
import type { ReliabilityBin } from './metrics.ts';

/** The metrics of one method (e.g. "SWAG-LoRA") on one split (e.g. "test", "ood"). */
export interface MethodResult {
  method: string;
  split: string;
  metrics: Record<string, number>;
  /** Over several seeds: `metrics` holds the means, `stderr` their standard errors, `perSeed` each seed's values. */
  stderr?: Record<string, number>;
  perSeed?: Record<string, number>[];
  bins?: ReliabilityBin[];
}

export type MetricDirection = 'higher' | 'lower';

/** Results that cannot be tabulated (e.g. the same method twice on one split). */
export class ReportInputError extends Error {
  override name = 'ReportInputError';
}

/**
 * Whether larger values of a metric are better, judged from the words of its name (split at
 * non-letters and camelCase humps): nll/ece/brier/error/err/loss are lower-is-better;
 * acc…/auroc/auc/aupr higher-is-better, so "ood_auroc_entropy" and "oodAurocMaxProb" count as
 * higher. Unknown metrics have no direction and are never bolded.
 */
export function metricDirection(name: string): MetricDirection | undefined {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  if (words.some((w) => ['nll', 'ece', 'brier', 'error', 'err', 'loss'].includes(w))) return 'lower';
  if (words.some((w) => w.startsWith('acc') || ['auroc', 'auc', 'aupr'].includes(w))) return 'higher';
  return undefined;
}

export interface MarkdownOptions {
  title: string;
  /** Bullet points under the tables (data set, seeds, number of samples, …). */
  notes?: string[];
  /** Digits after the decimal point (default 4). Best values are judged on the rounded numbers. */
  digits?: number;
  /** Overrides or adds directions for metrics whose names metricDirection does not know. */
  directions?: Record<string, MetricDirection>;
}

/** Values in first-appearance order, without repeats. */
function firstAppearance<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

/** Groups results by split, rejecting a method that appears twice on one split. */
function bySplit(results: readonly MethodResult[]): Map<string, MethodResult[]> {
  const groups = new Map<string, MethodResult[]>();
  for (const r of results) {
    const group = groups.get(r.split) ?? [];
    if (group.some((g) => g.method === r.method)) {
      throw new ReportInputError(`method "${r.method}" appears twice on split "${r.split}"`);
    }
    group.push(r);
    groups.set(r.split, group);
  }
  return groups;
}

/** Escapes text for a markdown table cell: pipes would split the cell, newlines end the row. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function formatNumber(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s; // no "-0.0000"
}

/**
 * A markdown document: the title, then for each split (in first-appearance order) a table with one
 * row per method and one column per metric. Column headers carry ↑/↓ for the metric's direction, and
 * the best value of each column (ties included) is bold. A missing metric shows as "—". A result
 * with standard errors shows `mean ± se`; the best is judged on the means.
 */
export function renderMarkdown(results: readonly MethodResult[], options: MarkdownOptions): string {
  const digits = options.digits ?? 4;
  const direction = (m: string) => options.directions?.[m] ?? metricDirection(m);
  const lines: string[] = [`# ${options.title.replace(/\r?\n/g, ' ')}`, ''];
  for (const [split, rows] of bySplit(results)) {
    const metrics = firstAppearance(rows.flatMap((r) => Object.keys(r.metrics)));
    const arrow = (m: string) => (direction(m) === 'higher' ? ' ↑' : direction(m) === 'lower' ? ' ↓' : '');
    lines.push(`## ${split.replace(/\r?\n/g, ' ')}`, '');
    lines.push(`| method | ${metrics.map((m) => cell(m) + arrow(m)).join(' | ')} |`);
    lines.push(`| :-- | ${metrics.map(() => '--:').join(' | ')} |`);
    const best = new Map<string, string>();
    for (const m of metrics) {
      const dir = direction(m);
      const values = rows
        .map((r) => r.metrics[m])
        .filter((v): v is number => v !== undefined && Number.isFinite(v));
      if (dir === undefined || values.length < 2) continue; // nothing to compare against
      // Compare the displayed numbers so that values printed alike are bolded alike.
      const rounded = values.map((v) => Number(v.toFixed(digits)));
      best.set(m, formatNumber(dir === 'higher' ? Math.max(...rounded) : Math.min(...rounded), digits));
    }
    for (const r of rows) {
      const cells = metrics.map((m) => {
        const v = r.metrics[m];
        if (v === undefined) return '—';
        const text = formatNumber(v, digits);
        const se = r.stderr?.[m];
        const shown = se !== undefined && Number.isFinite(se) ? `${text} ± ${formatNumber(se, digits)}` : text;
        return Number.isFinite(v) && best.get(m) === text ? `**${shown}**` : shown;
      });
      lines.push(`| ${cell(r.method)} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  if (options.notes && options.notes.length > 0) {
    for (const note of options.notes) lines.push(`- ${note.replace(/\r?\n/g, ' ')}`);
    lines.push('');
  }
  return lines.join('\n');
}

export interface JsonOptions {
  title?: string;
  notes?: string[];
}

/** Copies an object with its keys sorted, so JSON output does not depend on insertion order. */
function sortedRecord(record: Record<string, number>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const key of Object.keys(record).sort()) {
    const v = record[key]!;
    out[key] = Number.isFinite(v) ? v : null; // JSON has no NaN/∞; say "no value" explicitly
  }
  return out;
}

/**
 * The results as pretty JSON (2-space indent, trailing newline) with a fixed key order:
 * top level {title, notes, results}; each result {method, split, metrics (keys sorted), stderr and
 * perSeed when given (keys sorted), bins};
 * each bin {lo, hi, count, accuracy, confidence}. Results keep their input order. Non-finite
 * metric values become null.
 */
export function toJson(results: readonly MethodResult[], options: JsonOptions = {}): string {
  bySplit(results); // same duplicate check as the markdown table
  const doc = {
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(options.notes !== undefined ? { notes: [...options.notes] } : {}),
    results: results.map((r) => ({
      method: r.method,
      split: r.split,
      metrics: sortedRecord(r.metrics),
      ...(r.stderr ? { stderr: sortedRecord(r.stderr) } : {}),
      ...(r.perSeed ? { perSeed: r.perSeed.map(sortedRecord) } : {}),
      ...(r.bins
        ? {
            bins: r.bins.map((b) => ({
              lo: b.lo,
              hi: b.hi,
              count: b.count,
              accuracy: b.accuracy,
              confidence: b.confidence,
            })),
          }
        : {}),
    })),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
