/** A point in a source file. `line` and `col` count from 1; `offset` counts UTF-16 units from 0. */
export interface Position {
  line: number;
  col: number;
  offset: number;
}

/** A half-open source range: `start` is the first character, `end` is one past the last. */
export interface Span {
  file: string;
  start: Position;
  end: Position;
}

/** Maps offsets to line/column positions for one source text. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  /** The position of `offset`, clamped into [0, text.length] so a bad offset still renders. */
  position(offset: number): Position {
    const o = Number.isFinite(offset) ? Math.max(0, Math.min(Math.trunc(offset), this.text.length)) : this.text.length;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: o - this.starts[lo]! + 1, offset: o };
  }

  span(file: string, start: number, end: number): Span {
    const s = this.position(start);
    const e = this.position(Math.max(end, s.offset));
    return { file, start: s, end: e };
  }

  /** The text of line `line` (1-based), without its line break. */
  lineText(line: number): string {
    const start = this.starts[line - 1];
    if (start === undefined) return '';
    const next = this.starts[line];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }
}

/** The smallest span covering both `a` and `b` (they must be in the same file). */
export function joinSpans(a: Span, b: Span): Span {
  return {
    file: a.file,
    start: a.start.offset <= b.start.offset ? a.start : b.start,
    end: a.end.offset >= b.end.offset ? a.end : b.end,
  };
}
