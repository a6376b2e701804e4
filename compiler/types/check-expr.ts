import type * as A from '../syntax/ast.ts';
import { didYouMean } from '../syntax/did-you-mean.ts';
import { exprSnippet, printArg, printExpr } from '../syntax/print-expr.ts';
import type { Span } from '../syntax/span.ts';
import { type ArgKind, BUILTINS, type Builtin, type BoundCall, EXPRESSION_FORMS, type OpParam } from './builtins.ts';
import { constValue } from './const-eval.ts';
import type { BodyInfo, CheckContext, FnSig, ScalarInfo } from './context.ts';
import { type Dim, dimEquals, dimSymbol, dimSymbols, substitute } from './dim.ts';
import { memberPaths, resolveMember, substType } from './resolve-member.ts';
import { type TensorType, broadcastShapes, scalar, showShape, showType, tensor } from './tensor-type.ts';
import { type DimScope, toDim } from './to-dim.ts';
import type { AttrValue, Callee, Ref, TypedExpr } from './typed-program.ts';

/** A value name visible in an expression: fn parameters, lets, and posterior names. */
export interface ValueBinding {
  type: TensorType;
  ref: Ref;
}

/** Resolves calls to fns (possibly in other declarations), checking them first if needed. */
export interface FnHost {
  fnSig(body: BodyInfo, name: string, at: Span): FnSig | undefined;
}

/** Everything an expression can see. */
export interface ExprScope {
  ctx: CheckContext;
  /** The adapter/block/model whose members are visible, if any. */
  body?: BodyInfo;
  /** Present in fn bodies only: fns, linears and blocks can be called there, not in initializers. */
  host?: FnHost;
  values: Map<string, ValueBinding>;
  dims: DimScope;
  scalars: Map<string, ScalarInfo>;
  /** In an initializer: the members that may be referred to (those declared before it). */
  visibleMembers?: Set<string>;
  /** Names whose definition had errors: uses are silent, so one mistake gives one message. */
  poisoned?: Set<string>;
  /** Names that exist but may not be used here, with the reason (theta in a sample rule). */
  forbidden?: Map<string, string>;
  onDivisor?: (d: Dim) => void;
  /**
   * Whether noise (`normal([r, in])`) may be drawn here: `true` in a forward pass (fn forward of
   * an adapter, block or model); otherwise what this place is, for the message ("fn helper of
   * adapter X", "an initializer", "penalty kl"). Absent: not allowed, place unnamed.
   */
  noise?: true | string;
}

type Typed = TypedExpr | undefined;

function isWeak(t: TensorType): boolean {
  return t.weak === true;
}

const OP_NAMES: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '@': 'matmul' };

/** `l op r: ` to start a message about a binary expression, or nothing when that would be long. */
function head(e: A.BinaryExpr): string {
  const text = printExpr({ ...e, parens: undefined } as A.Expr);
  return text.length <= 48 ? `${text}: ` : '';
}

/** `A^T` or `(x @ A)^T`, as a suggestion. */
function transposed(e: A.Expr): string {
  const s = exprSnippet(e, 30);
  return e.kind === 'name' || e.kind === 'call' ? `${s}^T` : `(${s})^T`;
}

export class ExprChecker {
  constructor(private readonly scope: ExprScope) {}

  private get ctx(): CheckContext {
    return this.scope.ctx;
  }

  private err(message: string, span: Span): undefined {
    this.ctx.error(message, span);
    return undefined;
  }

  private op(op: string, args: TypedExpr[], attrs: Record<string, AttrValue>, type: TensorType, span: Span): TypedExpr {
    this.ctx.useOp(op);
    return { kind: 'op', op, args, attrs, type, span };
  }

  check(e: A.Expr): Typed {
    switch (e.kind) {
      case 'number':
        return { kind: 'const', value: e.value, type: e.isInt ? scalar('i32', true) : scalar('f32'), span: e.span };
      case 'bool':
        return this.err(`${e.value} is only meaningful as an option, such as keepdims: ${e.value}`, e.span);
      case 'list':
        return this.err(`a list of sizes such as ${exprSnippet(e)} is only an argument of reshape or permute`, e.span);
      case 'name':
        return this.name(e);
      case 'neg': {
        const x = this.check(e.operand);
        if (!x) return undefined;
        return this.op('neg', [x], {}, x.type, e.span);
      }
      case 'transpose': {
        const x = this.check(e.operand);
        if (!x) return undefined;
        const n = x.type.shape.length;
        if (n < 2) return this.err(`${exprSnippet(e)}: ^T swaps the last two axes, but ${exprSnippet(e.operand)} is ${showType(x.type)}`, e.span);
        const perm = x.type.shape.map((_, i) => i);
        perm[n - 1] = n - 2;
        perm[n - 2] = n - 1;
        return this.op('transpose', [x], { perm }, { elem: x.type.elem, shape: perm.map((i) => x.type.shape[i]!) }, e.span);
      }
      case 'binary':
        return e.op === '@' ? this.matmul(e) : this.arith(e);
      case 'call':
        return this.call(e);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Names

  private name(e: A.NameExpr): Typed {
    const path = e.path;
    const text = path.text;
    if (text === '') return undefined;
    const s = this.scope;
    const value = path.segments.length === 1 ? s.values.get(text) : undefined;
    if (value) return { kind: 'ref', ref: value.ref, type: value.type, span: e.span };
    if (path.segments.length === 1 && s.poisoned?.has(text)) return undefined;
    const forbidden = s.forbidden?.get(text);
    if (forbidden) return this.err(forbidden, e.span);
    if (s.body) {
      const target = s.body.target;
      if (target && text === target.name) return { kind: 'ref', ref: { kind: 'target', name: text }, type: tensor('f32', [target.out, target.in]), span: e.span };
      const found = resolveMember(s.body, path.segments);
      if (!found && [...s.body.broken].some((b) => text === b || text.startsWith(`${b}.`))) return undefined;
      if (found) {
        const m = found.member;
        if (s.visibleMembers && !s.visibleMembers.has(found.top)) {
          return this.err(`${text} is used before its declaration`, e.span);
        }
        if (m.kind === 'tensor') {
          return { kind: 'ref', ref: m.trainable ? { kind: 'param', path: found.path } : { kind: 'frozen', path: found.path }, type: substType(m.type, found.subst), span: e.span };
        }
        if (m.kind === 'linear' && found.field) {
          const shape = found.field === 'weight' ? [m.out, m.in] : [m.out];
          return { kind: 'ref', ref: { kind: 'frozen', path: found.path }, type: substType(tensor('f32', shape), found.subst), span: e.span };
        }
        if (m.kind === 'linear') return this.err(`${text} is a linear layer: call it as ${text}(x), or use ${text}.weight`, e.span);
        if (m.kind === 'instance') return this.err(`${text} is a block: call it as ${text}(...)`, e.span);
        return this.err(`${text} is a fn: call it as ${text}(...)`, e.span);
      }
    }
    if (path.segments.length === 1) {
      const sc = s.scalars.get(text);
      if (sc) return { kind: 'ref', ref: { kind: 'scalar', name: text }, type: scalar(sc.elem), span: e.span };
      const dim = s.dims.lookup(text);
      if (dim) return { kind: 'ref', ref: { kind: 'dim', dim }, type: scalar('i32', true), span: e.span };
    }
    const builtin = BUILTINS.get(text);
    if (builtin?.kind === 'init') return this.err(`${text} is an initializer: it can only be the whole value of a param or frozen declaration`, e.span);
    if (builtin) return this.err(`${text} is an op: call it as ${builtin.usage}`, e.span);
    const guess = didYouMean(text, this.valueNames());
    return this.err(`unknown name ${text}${guess ? `; did you mean ${guess}?` : ''}`, e.span);
  }

  private valueNames(): string[] {
    const s = this.scope;
    const names = [...s.values.keys(), ...s.scalars.keys(), ...s.dims.names()];
    if (s.body) {
      names.push(...memberPaths(s.body).filter((p) => !s.visibleMembers || [...s.visibleMembers].some((v) => p === v || p.startsWith(`${v}.`))));
      if (s.body.target) names.push(s.body.target.name);
    }
    return names;
  }

  // -------------------------------------------------------------------------------------------
  // Operators

  /** The element type of `l op r`, or undefined after reporting a clash. */
  private elemOf(e: A.BinaryExpr, l: TensorType, r: TensorType): { elem: 'f32' | 'i32'; weak: boolean } | undefined {
    let elem: 'f32' | 'i32';
    let weak = false;
    if (isWeak(l) && isWeak(r)) {
      elem = l.elem === 'f32' || r.elem === 'f32' ? 'f32' : 'i32';
      weak = true;
    } else if (isWeak(l)) elem = r.elem;
    else if (isWeak(r)) elem = l.elem;
    else if (l.elem !== r.elem) {
      const intSide = l.elem === 'i32' ? e.left : e.right;
      return this.err(`${head(e)}${showType(l)} ${e.op} ${showType(r)} — element types differ (f32 vs i32); convert with to_f32(${exprSnippet(intSide, 30)})`, e.span);
    } else elem = l.elem;
    if (e.op === '/') {
      if (elem === 'i32' && !weak) return this.err(`${exprSnippet(e)}: integer division is not supported; convert with to_f32(...)`, e.span);
      elem = 'f32';
    }
    return { elem, weak };
  }

  private arith(e: A.BinaryExpr): Typed {
    const l = this.check(e.left);
    const r = this.check(e.right);
    if (!l || !r) return undefined;
    const et = this.elemOf(e, l.type, r.type);
    if (!et) return undefined;
    const b = broadcastShapes(l.type.shape, r.type.shape);
    if (!b.ok) {
      return this.err(`${head(e)}${showShape(l.type.shape)} ${e.op} ${showShape(r.type.shape)} — cannot broadcast ${b.left.text} with ${b.right.text}`, e.span);
    }
    const type: TensorType = et.weak ? { elem: et.elem, shape: b.shape, weak: true } : tensor(et.elem, b.shape);
    return this.op(OP_NAMES[e.op]!, [l, r], {}, type, e.span);
  }

  private matmul(e: A.BinaryExpr): Typed {
    const l = this.check(e.left);
    const r = this.check(e.right);
    if (!l || !r) return undefined;
    const h = head(e);
    for (const [side, t] of [
      [e.left, l.type],
      [e.right, r.type],
    ] as const) {
      if (t.shape.length === 0) return this.err(`${h}@ needs tensors with at least one axis, but ${exprSnippet(side, 30)} is a scalar; scale with *`, e.span);
      if (t.elem !== 'f32') return this.err(`${h}@ needs f32 tensors, but ${exprSnippet(side, 30)} is ${showType(t)}`, e.span);
    }
    const L = l.type.shape;
    const R = r.type.shape;
    const lk = L[L.length - 1]!;
    const rk = R.length === 1 ? R[0]! : R[R.length - 2]!;
    if (!dimEquals(lk, rk)) {
      let hint = '';
      if (e.right.kind === 'transpose' && !e.right.parens) {
        const inner = R.length >= 2 ? R[R.length - 1]! : undefined;
        if (inner && dimEquals(inner, lk)) hint = `; did you mean ${exprSnippet(e.right.operand, 30)} instead of ${exprSnippet(e.right, 30)}?`;
      }
      if (!hint && R.length >= 2 && dimEquals(R[R.length - 1]!, lk)) hint = `; did you mean ${transposed(e.right)}?`;
      else if (!hint && L.length >= 2 && dimEquals(L[L.length - 2]!, rk)) hint = `; did you mean ${transposed(e.left)}?`;
      return this.err(`${h}${showShape(L)} @ ${showShape(R)} — inner dimensions ${lk.text} ≠ ${rk.text}${hint}`, e.span);
    }
    const lBatch = L.length >= 2 ? L.slice(0, -2) : [];
    const rBatch = R.length >= 2 ? R.slice(0, -2) : [];
    const batch = broadcastShapes(lBatch, rBatch);
    if (!batch.ok) return this.err(`${h}${showShape(L)} @ ${showShape(R)} — batch dimensions ${batch.left.text} ≠ ${batch.right.text}`, e.span);
    const shape = [...batch.shape, ...(L.length >= 2 ? [L[L.length - 2]!] : []), ...(R.length >= 2 ? [R[R.length - 1]!] : [])];
    return this.op('matmul', [l, r], {}, tensor('f32', shape), e.span);
  }

  // -------------------------------------------------------------------------------------------
  // Calls

  private call(e: A.CallExpr): Typed {
    const s = this.scope;
    const text = e.callee.text;
    if (text === '') return undefined;
    if (e.callee.segments.length === 1 && s.values.has(text)) return this.err(`${text} is a tensor, not a function`, e.callee.span);
    if (s.body) {
      const fn = e.callee.segments.length === 1 ? s.body.members.get(text) : undefined;
      const found = fn?.kind === 'fn' ? undefined : resolveMember(s.body, e.callee.segments);
      if ((fn?.kind === 'fn' || (found && found.member.kind !== 'tensor' && !found.field)) && !s.host) {
        return this.err(`${text} cannot be called in an initializer; only builtin ops can`, e.callee.span);
      }
      if (fn?.kind === 'fn') return this.userCall(e, s.body, text, new Map(), { kind: 'fn', name: text });
      if (found) {
        const m = found.member;
        if (m.kind === 'linear' && !found.field) return this.linearCall(e, found.path, m.out, m.in, m.bias, found.subst);
        if (m.kind === 'instance') {
          if (!m.body) return undefined;
          const dims = found.subst.size === 0 ? m.dims : new Map([...m.dims].map(([k, v]) => [k, substitute(v, found.subst)]));
          return this.userCall(e, m.body, 'forward', dims, { kind: 'block', path: found.path, block: m.block, fn: 'forward' });
        }
        if (m.kind === 'fn' && found.owner) {
          return this.userCall(e, found.body, m.ast.name.name, found.subst, { kind: 'block', path: found.owner, block: found.body.decl.name.name, fn: m.ast.name.name });
        }
        return this.err(`${text} is a tensor, not a function`, e.callee.span);
      }
      if ([...s.body.broken].some((b) => text === b || text.startsWith(`${b}.`))) return undefined;
    }
    const builtin = e.callee.segments.length === 1 ? BUILTINS.get(text) : undefined;
    if (builtin?.kind === 'op') return this.builtinCall(e, builtin);
    const form = e.callee.segments.length === 1 ? EXPRESSION_FORMS.get(text) : undefined;
    if (form) return this.noiseCall(e, form);
    if (builtin?.kind === 'init') return this.err(`${text} is an initializer: it can only be the whole value of a param or frozen declaration`, e.span);
    if (builtin?.kind === 'stat') return this.err(`${text} is a statistic: it can only be the whole value of a stat in a posterior`, e.span);
    const candidates = [...[...BUILTINS.values()].filter((b) => b.kind === 'op').map((b) => b.name)];
    if (s.body) {
      for (const [p, m] of s.body.members) if (m.kind === 'fn' || m.kind === 'linear' || m.kind === 'instance') candidates.push(p);
    }
    const guess = didYouMean(text, candidates);
    return this.err(`unknown op ${text}${guess ? `; did you mean ${guess}?` : ''}`, e.callee.span);
  }

  private positionalOnly(e: A.CallExpr, what: string): A.Expr[] | undefined {
    const named = e.args.find((a) => a.name);
    if (named) return this.err(`${what} takes positional arguments only`, named.span);
    return e.args.map((a) => a.value);
  }

  private linearCall(e: A.CallExpr, path: string, out: Dim, inn: Dim, bias: boolean, subst: Map<string, Dim>): Typed {
    const args = this.positionalOnly(e, `linear layer ${path}`);
    if (!args) return undefined;
    if (args.length !== 1) return this.err(`linear layer ${path} takes 1 argument but ${args.length} ${args.length === 1 ? 'was' : 'were'} given`, e.span);
    const x = this.check(args[0]!);
    if (!x) return undefined;
    const o = substitute(out, subst);
    const i = substitute(inn, subst);
    const last = x.type.shape[x.type.shape.length - 1];
    if (x.type.elem !== 'f32' || !last || !dimEquals(last, i)) {
      return this.err(`${exprSnippet(e)}: ${path} maps [..., ${i.text}] to [..., ${o.text}], but ${exprSnippet(args[0]!, 30)} is ${showType(x.type)}`, e.span);
    }
    const callee: Callee = { kind: 'linear', path, bias };
    this.ctx.useOp('linear');
    return { kind: 'call', callee, args: [x], bindings: {}, type: tensor('f32', [...x.type.shape.slice(0, -1), o]), span: e.span };
  }

  /** A call of a fn (of this declaration, or of a block instance with `subst` mapping its sizes). */
  private userCall(e: A.CallExpr, body: BodyInfo, fnName: string, subst: Map<string, Dim>, callee: Exclude<Callee, { kind: 'linear' }>): Typed {
    const sig = this.scope.host!.fnSig(body, fnName, e.span);
    if (!sig) return undefined;
    const args = this.positionalOnly(e, e.callee.text);
    if (!args) return undefined;
    const display = callee.kind === 'fn' ? callee.name : callee.fn === 'forward' ? callee.path : `${callee.path}.${callee.fn}`;
    if (args.length !== sig.params.length) {
      const n = sig.params.length;
      return this.err(`${display} takes ${n} argument${n === 1 ? '' : 's'} (${sig.params.map((p) => p.name).join(', ')}) but ${args.length} ${args.length === 1 ? 'was' : 'were'} given`, e.span);
    }
    const typed: TypedExpr[] = [];
    for (const a of args) {
      const t = this.check(a);
      if (!t) return undefined;
      typed.push(t);
    }
    const bind = new Map(subst);
    const pending: { p: number; i: number }[] = [];
    for (let p = 0; p < args.length; p++) {
      const want = sig.params[p]!.type;
      const got = typed[p]!.type;
      const wantText = showType(substType(want, bind));
      if (want.shape.length !== got.shape.length) {
        return this.err(`${display}: argument ${sig.params[p]!.name} must be ${wantText} but ${exprSnippet(args[p]!, 30)} is ${showType(got)}`, args[p]!.span);
      }
      if (want.elem !== got.elem && !got.weak) {
        return this.err(`${display}: argument ${sig.params[p]!.name} must be ${wantText} but ${exprSnippet(args[p]!, 30)} is ${showType(got)}`, args[p]!.span);
      }
      want.shape.forEach((d, i) => {
        const sym = dimSymbol(d);
        if (sym && sig.locals.has(sym) && !bind.has(sym)) bind.set(sym, got.shape[i]!);
        else pending.push({ p, i });
      });
    }
    for (const { p, i } of pending) {
      const want = substitute(sig.params[p]!.type.shape[i]!, bind);
      const unbound = dimSymbols(want).filter((x) => sig.locals.has(x) && !bind.has(x));
      if (unbound.length > 0) return this.err(`${display}: cannot tell the size ${unbound[0]} of argument ${sig.params[p]!.name} from the arguments`, args[p]!.span);
      const got = typed[p]!.type.shape[i]!;
      if (!dimEquals(want, got)) {
        const wantType = showType(substType(sig.params[p]!.type, bind));
        return this.err(`${display}: argument ${sig.params[p]!.name} must be ${wantType} but ${exprSnippet(args[p]!, 30)} is ${showType(typed[p]!.type)} — ${want.text} ≠ ${got.text}`, args[p]!.span);
      }
    }
    const ret = substType(sig.returns, bind);
    this.ctx.useOp('call');
    return { kind: 'call', callee, args: typed, bindings: Object.fromEntries(bind), type: ret, span: e.span };
  }

  /** Binds call arguments to one form of a builtin; an error message if they do not fit. */
  private bind(b: Builtin, params: OpParam[], args: A.Arg[]): { ok: Map<string, A.Expr | A.Expr[]> } | { error: string; span?: Span } {
    const bound = new Map<string, A.Expr | A.Expr[]>();
    const positional = args.filter((a) => !a.name);
    const named = args.filter((a) => a.name);
    const firstNamed = args.findIndex((a) => a.name);
    const lastPositional = args.map((a) => !a.name).lastIndexOf(true);
    if (firstNamed >= 0 && lastPositional > firstNamed) return { error: `${b.name}: a positional argument cannot follow a named one`, span: args[lastPositional]!.span };
    let pi = 0;
    for (const p of params) {
      if (pi >= positional.length) break;
      if (p.variadic) {
        const rest: A.Expr[] = [];
        while (pi < positional.length) rest.push(positional[pi++]!.value);
        bound.set(p.name, rest);
      } else bound.set(p.name, positional[pi++]!.value);
    }
    const arity = () => {
      const required = params.filter((p) => !p.optional).length;
      const max = params.some((p) => p.variadic) ? Infinity : params.length;
      const n = args.length;
      const takes = max === Infinity ? `at least ${required}` : required === max ? `${required}` : `${required} to ${max}`;
      return `${b.name} takes ${takes} argument${max === 1 && required === 1 ? '' : 's'} but ${n} ${n === 1 ? 'was' : 'were'} given; usage: ${b.usage}`;
    };
    if (pi < positional.length) return { error: arity() };
    for (const a of named) {
      const name = a.name!.name;
      const p = params.find((q) => q.name === name);
      if (!p || p.variadic) {
        const guess = didYouMean(name, params.filter((q) => !q.variadic).map((q) => q.name));
        return { error: `${b.name} has no argument named ${name}${guess ? `; did you mean ${guess}?` : ''}; usage: ${b.usage}`, span: a.name!.span };
      }
      if (bound.has(name)) return { error: `${b.name}: argument ${name} is given twice`, span: a.span };
      bound.set(name, a.value);
    }
    for (const p of params) if (!p.optional && !bound.has(p.name)) return { error: arity() };
    return { ok: bound };
  }

  /** Chooses the first form of `b` the arguments fit. */
  bindBuiltin(b: Builtin, e: A.CallExpr): { form: number; bound: Map<string, A.Expr | A.Expr[]> } | undefined {
    let first: { error: string; span?: Span } | undefined;
    for (let i = 0; i < b.signatures.length; i++) {
      const r = this.bind(b, b.signatures[i]!, e.args);
      if ('ok' in r) return { form: i, bound: r.ok };
      first ??= r;
    }
    const msg = first!.error;
    return this.err(msg, first!.span ?? e.span);
  }

  /** Evaluates one bound argument by kind; undefined after reporting. */
  private argValue(b: Builtin, p: OpParam, value: A.Expr): { typed?: TypedExpr; num?: number; bool?: boolean; dim?: Dim; shape?: Dim[] } | undefined {
    const src = `${b.name}(...)`;
    switch (p.kind as ArgKind) {
      case 'tensor': {
        const t = this.check(value);
        return t ? { typed: t } : undefined;
      }
      case 'scalar': {
        const t = this.check(value);
        if (!t) return undefined;
        if (t.type.shape.length !== 0) return this.err(`${src}: ${p.name} must be a scalar, but ${exprSnippet(value, 30)} is ${showType(t.type)}`, value.span);
        if (t.type.elem === 'i32' && !t.type.weak) return this.err(`${src}: ${p.name} must be f32, but ${exprSnippet(value, 30)} is i32`, value.span);
        return { typed: t };
      }
      case 'const':
      case 'int': {
        const v = constValue(value);
        if (v === undefined || !Number.isFinite(v)) return this.err(`${b.name}: ${p.name} must be a constant number, like 1e-5 or sqrt(5)`, value.span);
        if (p.kind === 'int' && !Number.isSafeInteger(v)) return this.err(`${b.name}: ${p.name} must be a whole number`, value.span);
        return { num: v };
      }
      case 'bool':
        if (value.kind !== 'bool') return this.err(`${b.name}: ${p.name} must be true or false`, value.span);
        return { bool: value.value };
      case 'dim': {
        const d = toDim(value, this.scope.dims, (m, s) => this.ctx.error(m, s), this.scope.onDivisor);
        return d ? { dim: d } : undefined;
      }
      case 'shape': {
        if (value.kind !== 'list') return this.err(`${b.name}: ${p.name} must be a list of sizes, like [b, t, d]`, value.span);
        const dims: Dim[] = [];
        for (const item of value.items) {
          const d = toDim(item, this.scope.dims, (m, s) => this.ctx.error(m, s), this.scope.onDivisor);
          if (!d) return undefined;
          dims.push(d);
        }
        return { shape: dims };
      }
      case 'axis':
        return {};
    }
  }

  /** Resolves `axis: t` / `axis: -1` against a shape. */
  private axis(source: string, value: A.Expr, shape: Dim[]): number | undefined {
    const v = constValue(value);
    if (v !== undefined) {
      if (!Number.isInteger(v)) return this.err(`${source}: an axis must be a dim name or a whole number`, value.span);
      const n = shape.length;
      if (v < -n || v >= n) return this.err(`${source}: axis ${v} is out of range for ${showShape(shape)}`, value.span);
      return v < 0 ? v + n : v;
    }
    if (value.kind !== 'name' || value.path.segments.length !== 1) return this.err(`${source}: an axis must be a dim name or a whole number`, value.span);
    const name = value.path.text;
    const dim = this.scope.dims.lookup(name);
    const hits = dim ? shape.flatMap((d, i) => (dimEquals(d, dim) ? [i] : [])) : shape.flatMap((d, i) => (d.text === name ? [i] : []));
    if (hits.length === 0) {
      if (!dim && !shape.some((d) => d.text === name)) {
        const guess = didYouMean(name, shape.map((d) => d.text));
        return this.err(`${source}: ${showShape(shape)} has no axis ${name}${guess ? `; did you mean ${guess}?` : ''}`, value.span);
      }
      return this.err(`${source}: ${showShape(shape)} has no axis ${name}`, value.span);
    }
    if (hits.length > 1) return this.err(`${source}: ${name} is axis ${hits.join(' and ')} of ${showShape(shape)}; name the axis by index instead`, value.span);
    return hits[0];
  }

  /** `normal([r, in])`: noise, only in a forward pass. */
  private noiseCall(e: A.CallExpr, b: Builtin): Typed {
    const where = this.scope.noise;
    if (where !== true) {
      return this.err(
        `${exprSnippet(e, 30)} draws noise at every training step, so it may only appear in a forward pass (fn forward of an adapter, block or model)${where ? `, not in ${where}` : ''}` +
          '; to initialize a tensor with normal draws, make normal(mean: …, std: …) its whole initializer',
        e.span,
      );
    }
    return this.builtinCall(e, b);
  }

  private builtinCall(e: A.CallExpr, b: Builtin): Typed {
    const chosen = this.bindBuiltin(b, e);
    if (!chosen) return undefined;
    const params = b.signatures[chosen.form]!;
    const written = `${b.name}(${e.args.map(printArg).join(', ')})`;
    const source = written.length <= 60 ? written : `${b.name}(...)`;
    type Value = { typed?: TypedExpr; typedList?: TypedExpr[]; num?: number; bool?: boolean; dim?: Dim; shape?: Dim[]; expr: A.Expr | A.Expr[] };
    const values = new Map<string, Value>();
    for (const p of params) {
      const raw = chosen.bound.get(p.name);
      if (raw === undefined) continue;
      if (Array.isArray(raw)) {
        const list: TypedExpr[] = [];
        for (const x of raw) {
          const t = this.check(x);
          if (!t) return undefined;
          list.push(t);
        }
        values.set(p.name, { typedList: list, expr: raw });
        continue;
      }
      const v = this.argValue(b, p, raw);
      if (!v) return undefined;
      values.set(p.name, { ...v, expr: raw });
    }
    let failed = false;
    const attrs: Record<string, AttrValue> = {};
    const get = (name: string) => values.get(name);
    const exprOf = (name: string): A.Expr | undefined => {
      const x = get(name)?.expr;
      return Array.isArray(x) ? x[0] : x;
    };
    const call: BoundCall = {
      source,
      has: (n) => values.has(n),
      tensor: (n) => get(n)?.typed?.type ?? scalar('f32'),
      tensors: (n) => get(n)?.typedList?.map((t) => t.type) ?? [],
      text: (n) => {
        const x = exprOf(n);
        return x ? exprSnippet(x, 30) : n;
      },
      num: (n) => get(n)?.num ?? (params.find((p) => p.name === n)?.default as number | undefined) ?? 0,
      bool: (n) => get(n)?.bool ?? false,
      dim: (n) => get(n)!.dim!,
      shape: (n) => get(n)!.shape!,
      axis: (n, shape) => {
        const x = exprOf(n);
        if (!x) return undefined;
        const r = this.axis(source, x, shape);
        if (r === undefined) failed = true;
        return r;
      },
      fail: (message, n) => {
        failed = true;
        const x = n ? exprOf(n) : undefined;
        this.ctx.error(message, x && n !== 'x' ? x.span : e.span);
        return undefined;
      },
      attrs,
    };
    const type = b.infer!(call, chosen.form);
    if (!type || failed) return undefined;
    const args: TypedExpr[] = [];
    for (const p of params) {
      const v = values.get(p.name);
      if (!v) {
        if (p.default !== undefined && attrs[p.name] === undefined && p.kind !== 'axis') attrs[p.name] = p.default;
        continue;
      }
      if (v.typedList) args.push(...v.typedList);
      else if (v.typed) args.push(v.typed);
      else if (v.num !== undefined) attrs[p.name] ??= v.num;
      else if (v.bool !== undefined) attrs[p.name] ??= v.bool;
      else if (v.dim) attrs[p.name] ??= v.dim;
      else if (v.shape) attrs[p.name] ??= v.shape;
    }
    return this.op(b.name, args, attrs, type, e.span);
  }
}

