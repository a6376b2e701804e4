import { describe, expect, it } from 'vitest';
import { type Diagnostic, formatDiagnostic } from '../../compiler/index.ts';
import { LineIndex } from '../../compiler/syntax/span.ts';

const text = 'model M {\n\tfn f(x: [n]) {\n\t\treturn x @ x\n\t}\n}\n';
const lines = new LineIndex(text);

function diag(start: number, end: number, notes?: Diagnostic['notes']): Diagnostic {
  return { severity: 'error', message: 'boom', span: lines.span('m.swag', start, end), ...(notes ? { notes } : {}) };
}

describe('formatDiagnostic', () => {
  it('prints file:line:col: error: message, the line, and ^~~ under the span (tabs kept)', () => {
    const at = text.indexOf('x @ x');
    expect(formatDiagnostic(diag(at, at + 5), text)).toBe('m.swag:3:10: error: boom\n\t\treturn x @ x\n\t\t       ^~~~~\n');
  });

  it('underlines to the end of the first line of a span that continues', () => {
    const at = text.indexOf('fn f');
    expect(formatDiagnostic(diag(at, text.length - 3), text)).toBe('m.swag:2:2: error: boom\n\tfn f(x: [n]) {\n\t^~~~~~~~~~~~~~\n');
  });

  it('marks an empty span at the end of the text with one caret', () => {
    expect(formatDiagnostic(diag(text.length, text.length), text)).toBe('m.swag:6:1: error: boom\n\n^\n');
  });

  it('adds notes, with their own excerpt when they point somewhere', () => {
    const at = text.indexOf('f(');
    const out = formatDiagnostic(diag(at, at + 1, [{ message: 'here', span: lines.span('m.swag', 6, 7) }, { message: 'no place' }]), (f) => (f === 'm.swag' ? text : undefined));
    expect(out).toBe('m.swag:2:5: error: boom\n\tfn f(x: [n]) {\n\t   ^\nm.swag:1:7: note: here\nmodel M {\n      ^\nnote: no place\n');
  });

  it('maps offsets to 1-based lines and columns, handling CRLF line text', () => {
    const crlf = new LineIndex('a\r\nbc\r\n');
    expect(crlf.position(3)).toEqual({ line: 2, col: 1, offset: 3 });
    expect(crlf.lineText(2)).toBe('bc');
    expect(crlf.position(999)).toEqual({ line: 3, col: 1, offset: 7 });
  });
});
