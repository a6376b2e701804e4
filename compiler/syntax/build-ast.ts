import type { CstElement, CstNode, IToken } from 'chevrotain';
import type * as A from './ast.ts';
import { type SourceDiagnostic as Diagnostic, error } from './diagnostic.ts';
import { didYouMean } from './did-you-mean.ts';
import type { LineIndex, Span } from './span.ts';
import { DECL_KEYWORDS, MEMBER_KEYWORDS, STMT_KEYWORDS } from './tokens.ts';

/*
 * Builds the plain AST from chevrotain's CST. After error recovery the CST can lack any child,
 * so every access here tolerates absence and substitutes an empty placeholder; such a tree is
 * only used to report errors, never checked or formatted.
 */

function isToken(e: CstElement): e is IToken {
  return (e as IToken).tokenType !== undefined;
}

function nodes(n: CstNode | undefined, key: string): CstNode[] {
  return ((n?.children[key] ?? []) as CstElement[]).filter((e): e is CstNode => !isToken(e));
}

function node(n: CstNode | undefined, key: string, i = 0): CstNode | undefined {
  return nodes(n, key)[i];
}

function tokens(n: CstNode | undefined, key: string): IToken[] {
  return ((n?.children[key] ?? []) as CstElement[]).filter((e): e is IToken => isToken(e) && !e.isInsertedInRecovery);
}

function token(n: CstNode | undefined, key: string, i = 0): IToken | undefined {
  return tokens(n, key)[i];
}

/** The text of a string token, also of one missing its closing quote. */
function unquote(image: string): string {
  return image.length >= 2 && image.endsWith('"') ? image.slice(1, -1) : image.slice(1);
}

function startOf(e: CstElement): number {
  if (isToken(e)) return e.startOffset;
  return e.location?.startOffset ?? Number.NaN;
}

/** Children of `n` under any of `keys`, in source order. */
function ordered(n: CstNode | undefined, keys: string[]): CstNode[] {
  const all = keys.flatMap((k) => nodes(n, k));
  return all
    .map((c, i) => ({ c, i, o: startOf(c) }))
    .sort((a, b) => (Number.isFinite(a.o) && Number.isFinite(b.o) ? a.o - b.o : a.i - b.i))
    .map((x) => x.c);
}

/** The first and last real tokens under `n`, for spans of recovered nodes without a location. */
function tokenRange(n: CstNode): [IToken | undefined, IToken | undefined] {
  let first: IToken | undefined;
  let last: IToken | undefined;
  const walk = (m: CstNode) => {
    for (const list of Object.values(m.children)) {
      for (const e of list) {
        if (isToken(e)) {
          if (e.isInsertedInRecovery || !Number.isFinite(e.startOffset)) continue;
          if (!first || e.startOffset < first.startOffset) first = e;
          if (!last || e.endOffset! > last.endOffset!) last = e;
        } else walk(e);
      }
    }
  };
  walk(n);
  return [first, last];
}

export class AstBuilder {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly fileName: string,
    private readonly lines: LineIndex,
    /** Where placeholder nodes point when a recovered node has no tokens at all. */
    private fallbackOffset = 0,
  ) {}

  private tokSpan(t: IToken | undefined): Span {
    if (!t || !Number.isFinite(t.startOffset)) return this.lines.span(this.fileName, this.fallbackOffset, this.fallbackOffset);
    return this.lines.span(this.fileName, t.startOffset, t.startOffset + t.image.length);
  }

  private span(n: CstNode | undefined): Span {
    if (!n) return this.lines.span(this.fileName, this.fallbackOffset, this.fallbackOffset);
    const loc = n.location;
    if (loc && Number.isFinite(loc.startOffset) && Number.isFinite(loc.endOffset)) {
      return this.lines.span(this.fileName, loc.startOffset, loc.endOffset! + 1);
    }
    const [first, last] = tokenRange(n);
    if (!first || !last) return this.lines.span(this.fileName, this.fallbackOffset, this.fallbackOffset);
    return this.lines.span(this.fileName, first.startOffset, last.startOffset + last.image.length);
  }

  private ident(t: IToken | undefined): A.Ident {
    return { name: t?.image ?? '', span: this.tokSpan(t) };
  }

  // -------------------------------------------------------------------------------------------

  file(cst: CstNode, textLength: number): A.SourceFile {
    const decls: A.Decl[] = [];
    for (const d of ordered(cst, ['importDecl', 'adapterDecl', 'blockDecl', 'posteriorDecl', 'finetuneDecl', 'strayDecl'])) {
      switch (d.name) {
        case 'importDecl':
          decls.push(this.importDecl(d));
          break;
        case 'adapterDecl':
          decls.push(this.adapterDecl(d));
          break;
        case 'blockDecl':
          decls.push(this.blockDecl(d));
          break;
        case 'posteriorDecl':
          decls.push(this.posteriorDecl(d));
          break;
        case 'finetuneDecl':
          decls.push(this.finetuneDecl(d));
          break;
        default:
          this.stray(d, 'a declaration (adapter, block, model, posterior, finetune or import)', DECL_KEYWORDS);
      }
    }
    return { kind: 'file', file: this.fileName, decls, span: this.lines.span(this.fileName, 0, textLength) };
  }

  /** One diagnostic for a run of text that cannot start what the enclosing list expects. */
  private stray(n: CstNode, expected: string, keywords: readonly string[]): void {
    const all = Object.values(n.children)
      .flat()
      .filter((e): e is IToken => isToken(e) && Number.isFinite(e.startOffset))
      .sort((a, b) => a.startOffset - b.startOffset);
    const first = all[0];
    if (!first) return;
    let message = `expected ${expected} but found '${first.image}'`;
    const suggestion = first.tokenType.name === 'Identifier' ? didYouMean(first.image, keywords) : undefined;
    if (suggestion) message += `; did you mean '${suggestion}'?`;
    else if (keywords === STMT_KEYWORDS && first.tokenType.name === 'Identifier' && all[1]?.image === '=') {
      message += `; bind a new name with 'let ${first.image} = ...' (a later let may shadow an earlier one)`;
    }
    this.diagnostics.push(error(message, this.tokSpan(first)));
  }

  private importDecl(n: CstNode): A.ImportDecl {
    const s = token(n, 'StringLiteral');
    return { kind: 'import', path: s ? unquote(s.image) : '', pathSpan: this.tokSpan(s), span: this.span(n) };
  }

  private paramList(n: CstNode | undefined): A.DeclParam[] {
    return nodes(n, 'declParam').map((p) => {
      const def = node(p, 'default');
      return {
        name: this.ident(token(p, 'name')),
        type: this.type(node(p, 'type')),
        ...(def ? { default: this.expr(def) } : {}),
        span: this.span(p),
      };
    });
  }

  private adapterDecl(n: CstNode): A.AdapterDecl {
    const weight = token(n, 'weight');
    const shape = node(n, 'shape');
    const target = { weight: this.ident(weight), shape: this.shapeItems(shape), span: this.span(shape) };
    if (weight) target.span = { ...target.span, start: this.tokSpan(weight).start };
    return {
      kind: 'adapter',
      name: this.ident(token(n, 'name')),
      params: this.paramList(node(n, 'paramList')),
      target,
      members: this.body(node(n, 'body')),
      span: this.span(n),
    };
  }

  private blockDecl(n: CstNode): A.BlockDecl {
    return {
      kind: token(n, 'keyword')?.image === 'model' ? 'model' : 'block',
      name: this.ident(token(n, 'name')),
      params: this.paramList(node(n, 'paramList')),
      members: this.body(node(n, 'body')),
      span: this.span(n),
    };
  }

  private body(n: CstNode | undefined): A.Member[] {
    const members: A.Member[] = [];
    for (const m of ordered(n, ['paramMember', 'frozenMember', 'linearMember', 'instanceMember', 'dimMember', 'fnMember', 'penaltyMember', 'strayMember'])) {
      switch (m.name) {
        case 'paramMember':
        case 'frozenMember': {
          const init = node(m, 'init');
          members.push({
            kind: m.name === 'paramMember' ? 'param' : 'frozen',
            path: this.path(node(m, 'path')),
            type: this.type(node(m, 'type')),
            ...(init ? { init: this.expr(init) } : {}),
            span: this.span(m),
          });
          break;
        }
        case 'linearMember': {
          const bias = token(m, 'bias');
          if (bias && bias.image !== 'bias') {
            this.diagnostics.push(error(`expected 'bias' after '+' but found '${bias.image}'`, this.tokSpan(bias)));
          }
          members.push({ kind: 'linear', path: this.path(node(m, 'path')), shape: this.shapeItems(node(m, 'shape')), bias: bias !== undefined, span: this.span(m) });
          break;
        }
        case 'instanceMember':
          members.push({
            kind: 'instance',
            path: this.path(node(m, 'path')),
            block: this.ident(token(m, 'block')),
            args: this.args(node(m, 'argList')),
            span: this.span(m),
          });
          break;
        case 'dimMember':
          members.push({ kind: 'dim', name: this.ident(token(m, 'name')), value: this.expr(node(m, 'expr')), span: this.span(m) });
          break;
        case 'fnMember':
          members.push(this.fnMember(m));
          break;
        case 'penaltyMember':
          members.push({ kind: 'penalty', name: this.ident(token(m, 'name')), value: this.expr(node(m, 'expr')), span: this.span(m) });
          break;
        default:
          this.stray(m, 'a member (param, frozen, linear, block, dim or fn)', MEMBER_KEYWORDS);
      }
    }
    return members;
  }

  private fnMember(n: CstNode): A.FnMember {
    const returns = node(n, 'returns');
    const body: A.Stmt[] = [];
    for (const s of ordered(n, ['letStmt', 'returnStmt', 'strayStmt'])) {
      if (s.name === 'letStmt') {
        const type = node(s, 'type');
        body.push({
          kind: 'let',
          name: this.ident(token(s, 'name')),
          ...(type ? { type: this.type(type) } : {}),
          value: this.expr(node(s, 'expr')),
          span: this.span(s),
        });
      } else if (s.name === 'returnStmt') {
        body.push({ kind: 'return', value: this.expr(node(s, 'expr')), span: this.span(s) });
      } else {
        this.stray(s, 'a statement (let or return)', STMT_KEYWORDS);
      }
    }
    return {
      kind: 'fn',
      name: this.ident(token(n, 'name')),
      params: nodes(n, 'fnParam').map((p) => ({ name: this.ident(token(p, 'name')), type: this.type(node(p, 'type')), span: this.span(p) })),
      ...(returns ? { returns: this.type(returns) } : {}),
      body,
      span: this.span(n),
    };
  }

  private posteriorDecl(n: CstNode): A.PosteriorDecl {
    const members: A.PosteriorDecl['members'] = [];
    for (const m of ordered(n, ['statMember', 'sampleMember', 'straySection'])) {
      if (m.name === 'statMember') {
        members.push({ kind: 'stat', name: this.ident(token(m, 'name')), value: this.expr(node(m, 'expr')), span: this.span(m) });
      } else if (m.name === 'sampleMember') {
        members.push({
          kind: 'sample',
          params: nodes(m, 'noiseParam').map((p) => {
            const shape = node(p, 'shape');
            return {
              name: this.ident(token(p, 'name')),
              dist: this.ident(token(p, 'dist')),
              ...(shape ? { shape: this.shapeItems(shape) } : {}),
              span: this.span(p),
            };
          }),
          value: this.expr(node(m, 'expr')),
          span: this.span(m),
        });
      } else {
        this.stray(m, "'stat' or 'sample'", ['stat', 'sample']);
      }
    }
    return {
      kind: 'posterior',
      name: this.ident(token(n, 'name')),
      params: this.paramList(node(n, 'paramList')),
      over: this.ident(token(n, 'over')),
      ...(token(n, 'mode') ? { mode: this.ident(token(n, 'mode')) } : {}),
      members,
      span: this.span(n),
    };
  }

  private finetuneDecl(n: CstNode): A.FinetuneDecl {
    const members: A.FinetuneDecl['members'] = [];
    for (const m of ordered(n, ['adaptMember', 'usePosterior', 'straySection'])) {
      if (m.name === 'adaptMember') {
        members.push({
          kind: 'adapt',
          targets: tokens(m, 'target').map((t) => ({ pattern: unquote(t.image), span: this.tokSpan(t) })),
          adapter: this.ident(token(m, 'adapter')),
          args: this.args(node(m, 'argList')),
          span: this.span(m),
        });
      } else if (m.name === 'usePosterior') {
        members.push({ kind: 'posterior', posterior: this.ident(token(m, 'name')), args: this.args(node(m, 'argList')), span: this.span(m) });
      } else {
        this.stray(m, "'adapt' or 'posterior'", ['adapt', 'posterior']);
      }
    }
    return {
      kind: 'finetune',
      name: this.ident(token(n, 'name')),
      model: this.ident(token(n, 'model')),
      args: this.args(node(n, 'argList')),
      members,
      span: this.span(n),
    };
  }

  // -------------------------------------------------------------------------------------------

  private type(n: CstNode | undefined): A.TypeExpr {
    if (token(n, 'Dim')) return { kind: 'dim', span: this.span(n) };
    const elem = token(n, 'elem')?.image;
    const shape = node(n, 'shape');
    return {
      kind: 'tensor',
      elem: elem === 'f32' || elem === 'i32' ? elem : null,
      shape: shape ? this.shapeItems(shape) : elem ? null : [],
      span: this.span(n),
    };
  }

  private shapeItems(n: CstNode | undefined): A.Expr[] {
    return nodes(n, 'expr').map((e) => this.expr(e));
  }

  private path(n: CstNode | undefined): A.Path {
    const segments = tokens(n, 'segment').map((t) => t.image);
    return { segments, text: segments.join('.'), span: this.span(n) };
  }

  private args(n: CstNode | undefined): A.Arg[] {
    return nodes(n, 'arg').map((a) => {
      const name = token(a, 'name');
      return { ...(name ? { name: this.ident(name) } : {}), value: this.expr(node(a, 'expr')), span: this.span(a) };
    });
  }

  private placeholder(n: CstNode | undefined): A.Expr {
    return { kind: 'name', path: { segments: [], text: '', span: this.span(n) }, span: this.span(n) };
  }

  /** A left-associative chain `operand (op operand)*` of `expr` or `product`. */
  private chain(n: CstNode | undefined, operand: (c: CstNode) => A.Expr): A.Expr {
    const operands = nodes(n, 'operand');
    const ops = tokens(n, 'op');
    if (operands.length === 0) return this.placeholder(n);
    let left = operand(operands[0]!);
    for (let i = 1; i < operands.length; i++) {
      const right = operand(operands[i]!);
      const op = (ops[i - 1]?.image ?? '+') as A.BinaryOp;
      left = { kind: 'binary', op, left, right, span: { file: this.fileName, start: left.span.start, end: right.span.end } };
    }
    return left;
  }

  expr(n: CstNode | undefined): A.Expr {
    return this.chain(n, (p) => this.chain(p, (u) => this.unary(u)));
  }

  private unary(n: CstNode): A.Expr {
    const inner = node(n, 'unary');
    if (token(n, 'Minus') || inner) return { kind: 'neg', operand: inner ? this.unary(inner) : this.placeholder(n), span: this.span(n) };
    const post = node(n, 'postfix');
    let e = this.primary(node(post, 'primary'));
    for (const t of tokens(post, 'Transpose')) {
      e = { kind: 'transpose', operand: e, span: { file: this.fileName, start: e.span.start, end: this.tokSpan(t).end } };
    }
    return e;
  }

  private primary(n: CstNode | undefined): A.Expr {
    const span = this.span(n);
    const num = token(n, 'NumberLiteral');
    if (num) return { kind: 'number', value: Number(num.image), text: num.image, isInt: /^\d+$/.test(num.image), span };
    if (token(n, 'True')) return { kind: 'bool', value: true, span };
    if (token(n, 'False')) return { kind: 'bool', value: false, span };
    const path = node(n, 'path');
    if (path) {
      const p = this.path(path);
      const args = node(n, 'argList');
      return args ? { kind: 'call', callee: p, args: this.args(args), span } : { kind: 'name', path: p, span };
    }
    const inner = node(n, 'expr');
    if (inner) return { ...this.expr(inner), span, parens: true };
    const list = node(n, 'shape');
    if (list) return { kind: 'list', items: this.shapeItems(list), span };
    return this.placeholder(n);
  }
}
