import { LineIndex, type Span } from './span.ts';

/** An extra line attached to a diagnostic, e.g. "first declared here", optionally pointing somewhere. */
export interface DiagnosticNote {
  message: string;
  span?: Span;
}

/**
 * A problem in the user's input: the one diagnostic type from the parser, the checker, the
 * lowering and the driver to the CLI and the API. The library reports every problem as one of
 * these values and never throws for user input. `span` covers the offending text; a problem with
 * no place in the source (an unknown `--entry`, a size nobody binds) has none, and names its
 * `file` when it belongs to one.
 */
export interface Diagnostic {
  severity: 'error' | 'warning';
  message: string;
  span?: Span;
  /** The file a span-less diagnostic belongs to (a span names its own). */
  file?: string;
  /** A machine-readable kind, where the stage that reports it has kinds (the lowering's codes). */
  code?: string;
  notes?: DiagnosticNote[];
}

/** A diagnostic that has a place in the source: what the parser and the checker report. */
export type SourceDiagnostic = Diagnostic & { span: Span };

export function error(message: string, span: Span, notes?: DiagnosticNote[]): SourceDiagnostic {
  return notes && notes.length > 0 ? { severity: 'error', message, span, notes } : { severity: 'error', message, span };
}

/** Source text of a file, by name, for rendering spans (notes may point into other files). */
export type SourceLookup = string | ((file: string) => string | undefined);

function location(span: Span): string {
  return `${span.file}:${span.start.line}:${span.start.col}`;
}

/**
 * The source line of `span` and a caret line under it: `^` at the start, `~` for the rest of the
 * span on that line. Tabs in the source are copied into the caret line so the caret lines up.
 */
function excerpt(span: Span, text: string | undefined): string {
  if (text === undefined) return '';
  const index = new LineIndex(text);
  const line = index.lineText(span.start.line);
  const startCol = Math.min(span.start.col, line.length + 1);
  const lastCol = span.end.line === span.start.line ? Math.min(span.end.col - 1, line.length) : line.length;
  const width = Math.max(1, lastCol - startCol + 1);
  let pad = '';
  for (let i = 0; i < startCol - 1; i++) pad += line[i] === '\t' ? '\t' : ' ';
  return `${line}\n${pad}^${'~'.repeat(width - 1)}\n`;
}

/**
 * Renders a diagnostic the way the CLI prints it:
 *
 *     file:line:col: error: message
 *     <source line>
 *         ^~~~~
 *     file:line:col: note: ...
 */
export function formatDiagnostic(diag: Diagnostic, source: SourceLookup = () => undefined): string {
  const span = diag.span;
  const lookup = (file: string) => (typeof source === 'string' ? (file === span?.file ? source : undefined) : source(file));
  let out = span
    ? `${location(span)}: ${diag.severity}: ${diag.message}\n${excerpt(span, lookup(span.file))}`
    : `${diag.file !== undefined ? `${diag.file}: ` : ''}${diag.severity}: ${diag.message}\n`;
  for (const note of diag.notes ?? []) {
    if (note.span) out += `${location(note.span)}: note: ${note.message}\n${excerpt(note.span, lookup(note.span.file))}`;
    else out += `note: ${note.message}\n`;
  }
  return out;
}

/** Orders diagnostics by file, then position; drops exact duplicates (recovery can report one twice). */
export function sortDiagnostics(diags: SourceDiagnostic[]): SourceDiagnostic[] {
  const seen = new Set<string>();
  const unique: SourceDiagnostic[] = [];
  for (const d of diags) {
    const key = `${d.span.file}:${d.span.start.offset}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(d);
  }
  return unique.sort((a, b) => (a.span.file < b.span.file ? -1 : a.span.file > b.span.file ? 1 : a.span.start.offset - b.span.start.offset));
}
