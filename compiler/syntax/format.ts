import type * as A from './ast.ts';
import { printArg, printExpr, printType } from './print-expr.ts';
import type { Span } from './span.ts';

/*
 * The pretty printer behind `swaglet fmt`. It prints from the AST, so the layout is canonical and
 * formatting is idempotent; comments are put back by position:
 *   - a comment on the line where an item (declaration, member, statement) ends stays at its end;
 *   - every other comment is printed, on its own line, before the next item of the enclosing
 *     block (or before the block's closing brace), so no comment is ever lost;
 *   - one blank line between items is kept where the source had one or more; top-level
 *     declarations are always separated by one.
 */

const INDENT = '  ';
const WIDTH = 100;

interface BlockState {
  emittedAny: boolean;
  lastLine: number;
}

class Printer {
  readonly out: string[] = [];
  private next = 0;

  constructor(private readonly comments: A.Comment[]) {}

  private separate(block: BlockState, line: number, force: boolean): void {
    if (block.emittedAny && (force || line > block.lastLine + 1) && this.out[this.out.length - 1] !== '') this.out.push('');
    block.emittedAny = true;
  }

  /** Comments before `offset`, each on its own line at `indent`. */
  commentsBefore(offset: number, indent: string, block: BlockState, force = false): boolean {
    let forced = force;
    while (this.next < this.comments.length && this.comments[this.next]!.span.start.offset < offset) {
      const c = this.comments[this.next++]!;
      this.separate(block, c.span.start.line, forced);
      forced = false;
      this.out.push(indent + c.text);
      block.lastLine = c.span.end.line;
    }
    return forced;
  }

  /**
   * One item of a block: its leading comments, a blank line if due, its lines (printed by
   * `print`), and a trailing comment on its last source line.
   */
  item(span: Span, nextOffset: number, indent: string, block: BlockState, force: boolean, print: () => void): void {
    const stillForce = this.commentsBefore(span.start.offset, indent, block, force);
    this.separate(block, span.start.line, stillForce);
    print();
    block.lastLine = span.end.line;
    const c = this.comments[this.next];
    if (c && c.span.start.line === span.end.line && c.span.start.offset >= span.end.offset && c.span.start.offset < nextOffset) {
      this.out[this.out.length - 1] += ` ${c.text}`;
      this.next++;
    }
  }

  /** Items of a `{ ... }` block, then comments left inside it, then the closing brace. */
  block<T extends { span: Span }>(
    items: T[],
    endOffset: number,
    indent: string,
    print: (item: T, indent: string) => void,
    forceBetween?: (prev: T, item: T) => boolean,
  ): void {
    const state: BlockState = { emittedAny: false, lastLine: 0 };
    items.forEach((it, i) => {
      const nextOffset = i + 1 < items.length ? items[i + 1]!.span.start.offset : endOffset;
      const force = i > 0 && forceBetween !== undefined && forceBetween(items[i - 1]!, it);
      this.item(it.span, nextOffset, indent, state, force, () => print(it, indent));
    });
    this.commentsBefore(endOffset, indent, state);
  }

  line(text: string): void {
    this.out.push(text);
  }
}

/** `prefix expr`; when too long for one line, one top-level `+`/`-` operand per line. */
function assignLines(indent: string, prefix: string, value: A.Expr): string[] {
  const one = `${indent}${prefix}${printExpr(value)}`;
  if (one.length <= WIDTH) return [one];
  const operands: A.Expr[] = [];
  const ops: string[] = [];
  let e = value;
  while (e.kind === 'binary' && (e.op === '+' || e.op === '-') && !e.parens) {
    operands.unshift(e.right);
    ops.unshift(e.op);
    e = e.left;
  }
  operands.unshift(e);
  if (operands.length === 1) return [one];
  const cont = `${indent}${INDENT}${INDENT}`;
  const lines = [`${indent}${prefix}${printExpr(operands[0]!)}`];
  for (let i = 1; i < operands.length; i++) lines.push(`${cont}${ops[i - 1]} ${printExpr(operands[i]!)}`);
  return lines;
}

function params(ps: A.DeclParam[]): string {
  if (ps.length === 0) return '';
  return `(${ps.map((p) => `${p.name.name}: ${printType(p.type)}${p.default ? ` = ${printExpr(p.default)}` : ''}`).join(', ')})`;
}

function args(as: A.Arg[], always: boolean): string {
  return as.length === 0 && !always ? '' : `(${as.map(printArg).join(', ')})`;
}

function shape(items: A.Expr[]): string {
  return `[${items.map(printExpr).join(', ')}]`;
}

function printStmt(p: Printer, s: A.Stmt, indent: string): void {
  if (s.kind === 'return') for (const l of assignLines(indent, 'return ', s.value)) p.line(l);
  else for (const l of assignLines(indent, `let ${s.name.name}${s.type ? `: ${printType(s.type)}` : ''} = `, s.value)) p.line(l);
}

function printMember(p: Printer, m: A.Member, indent: string): void {
  switch (m.kind) {
    case 'param':
    case 'frozen': {
      const head = `${m.kind} ${m.path.text}: ${printType(m.type)}`;
      if (m.init) for (const l of assignLines(indent, `${head} = `, m.init)) p.line(l);
      else p.line(indent + head);
      return;
    }
    case 'linear':
      p.line(`${indent}linear ${m.path.text}: ${shape(m.shape)}${m.bias ? ' + bias' : ''}`);
      return;
    case 'instance':
      p.line(`${indent}block ${m.path.text} = ${m.block.name}${args(m.args, true)}`);
      return;
    case 'dim':
      for (const l of assignLines(indent, `dim ${m.name.name} = `, m.value)) p.line(l);
      return;
    case 'penalty':
      for (const l of assignLines(indent, `penalty ${m.name.name} = `, m.value)) p.line(l);
      return;
    case 'fn': {
      const ps = m.params.map((x) => `${x.name.name}: ${printType(x.type)}`).join(', ');
      p.line(`${indent}fn ${m.name.name}(${ps})${m.returns ? ` -> ${printType(m.returns)}` : ''} {`);
      p.block(m.body, m.span.end.offset - 1, indent + INDENT, (s, ind) => printStmt(p, s, ind));
      p.line(`${indent}}`);
      return;
    }
  }
}

function printDecl(p: Printer, d: A.Decl): void {
  const end = d.span.end.offset - 1;
  switch (d.kind) {
    case 'import':
      p.line(`import "${d.path}"`);
      return;
    case 'adapter':
      p.line(`adapter ${d.name.name}${params(d.params)} on linear(${d.target.weight.name}: ${shape(d.target.shape)}) {`);
      p.block(d.members, end, INDENT, (m, ind) => printMember(p, m, ind));
      p.line('}');
      return;
    case 'block':
    case 'model':
      p.line(`${d.kind} ${d.name.name}${params(d.params)} {`);
      p.block(d.members, end, INDENT, (m, ind) => printMember(p, m, ind));
      p.line('}');
      return;
    case 'posterior':
      p.line(`posterior ${d.name.name}${params(d.params)} over ${d.over.name}${d.mode ? ` ${d.mode.name}` : ''} {`);
      p.block(d.members, end, INDENT, (m, ind) => {
        if (m.kind === 'stat') {
          for (const l of assignLines(ind, `stat ${m.name.name} = `, m.value)) p.line(l);
        } else {
          const noise = m.params.map((z) => `${z.name.name}: ${z.dist.name}${z.shape ? shape(z.shape) : ''}`).join(', ');
          for (const l of assignLines(ind, `sample(${noise}) = `, m.value)) p.line(l);
        }
      });
      p.line('}');
      return;
    case 'finetune':
      p.line(`finetune ${d.name.name} = ${d.model.name}${args(d.args, false)} {`);
      p.block(d.members, end, INDENT, (m, ind) => {
        if (m.kind === 'adapt') {
          p.line(`${ind}adapt ${m.targets.map((t) => `"${t.pattern}"`).join(', ')} with ${m.adapter.name}${args(m.args, false)}`);
        } else {
          p.line(`${ind}posterior ${m.posterior.name}${args(m.args, false)}`);
        }
      });
      p.line('}');
      return;
  }
}

/**
 * Formats a parsed file. Only meaningful for a file that parsed without errors: the output
 * parses to the same tree (spans aside), and formatting it again changes nothing.
 */
export function format(ast: A.SourceFile, comments: A.Comment[]): string {
  const p = new Printer(comments);
  p.block(ast.decls, Number.POSITIVE_INFINITY, '', (d) => printDecl(p, d), (prev, d) => !(prev.kind === 'import' && d.kind === 'import'));
  while (p.out.length > 0 && p.out[p.out.length - 1] === '') p.out.pop();
  return p.out.length === 0 ? '' : `${p.out.join('\n')}\n`;
}
