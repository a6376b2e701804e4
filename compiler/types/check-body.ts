import type * as A from '../syntax/ast.ts';
import { didYouMean } from '../syntax/did-you-mean.ts';
import { exprSnippet } from '../syntax/print-expr.ts';
import type { Span } from '../syntax/span.ts';
import { BUILTINS } from './builtins.ts';
import { type BodyParts, bindAdapterTarget, checkAdapterForward, typedAdapter } from './check-adapter.ts';
import { typedBlock } from './check-block.ts';
import { ExprChecker, type ExprScope, type FnHost, type ValueBinding } from './check-expr.ts';
import { constValue } from './const-eval.ts';
import type { BodyInfo, CheckContext, FnInfo, FnSig, MemberInfo, ScalarInfo } from './context.ts';
import { type Dim, dimSym, substitute, withText } from './dim.ts';
import { type TensorType, broadcastShapes, sameShape, sameType, showType, tensor } from './tensor-type.ts';
import { type DimScope, mapScope, toDim } from './to-dim.ts';
import type {
  Init,
  TypedDeclParam,
  TypedDerivedDim,
  TypedFn,
  TypedPenalty,
  TypedStmt,
  TypedTensor,
} from './typed-program.ts';

/*
 * Checks adapters, blocks and models: builds each one's symbol table (sizes, scalars, members),
 * checks initializers and fns, and produces the typed declaration. Blocks are checked once, in
 * their own sizes; an instance maps the block's sizes to the caller's.
 */

/** Converts a written tensor type; `dim` is not a tensor type. */
export function tensorTypeOf(t: A.TypeExpr, scope: DimScope, ctx: CheckContext, what: string, onDivisor?: (d: Dim) => void): TensorType | undefined {
  if (t.kind === 'dim') {
    ctx.error(`${what} must be a tensor type such as [n, d] or f32, not dim`, t.span);
    return undefined;
  }
  const shape: Dim[] = [];
  let ok = true;
  for (const item of t.shape ?? []) {
    const d = toDim(item, scope, (m, s) => ctx.error(m, s), onDivisor);
    if (d) shape.push(d);
    else ok = false;
  }
  return ok ? tensor(t.elem ?? 'f32', shape) : undefined;
}

export { sameType };

function memberName(m: A.Member): { name: string; span: Span } {
  return m.kind === 'dim' || m.kind === 'fn' || m.kind === 'penalty' ? { name: m.name.name, span: m.name.span } : { name: m.path.text, span: m.path.span };
}

/** Limits on how deeply block instances and fn calls may chain while checking (the checker recurses). */
const MAX_BLOCK_NESTING = 64;
const MAX_CALL_NESTING = 200;

/** What the phases of checking one body hand on to each other. */
interface BodyBuild {
  readonly info: BodyInfo;
  readonly decl: A.AdapterDecl | A.BlockDecl;
  /** Claims a name in the body's one namespace; false (and an error) when it is taken. */
  readonly claim: (name: string, span: Span) => boolean;
  params: TypedDeclParam[];
  divisors: TypedDerivedDim[];
  /** Sizes visible to members (set by derivedSizes). */
  dimScope: DimScope;
  tensors: TypedTensor[];
  fns: TypedFn[];
  penalties: TypedPenalty[];
}

export class BodyChecker implements FnHost {
  private blockDepth = 0;
  private callDepth = 0;

  constructor(private readonly ctx: CheckContext) {}

  /** The checked symbol table of a block/model/adapter declaration (checked on first use). */
  body(decl: A.AdapterDecl | A.BlockDecl): BodyInfo {
    const name = decl.name.name;
    const existing = this.ctx.bodies.get(name);
    if (existing && existing.decl === decl) return existing;
    const info: BodyInfo = { decl, dims: new Map(), dimParams: [], scalars: new Map(), members: new Map(), broken: new Set(), state: 'checking' };
    this.ctx.bodies.set(name, info);
    this.build(info);
    info.state = 'done';
    return info;
  }

  /**
   * Checking one body, as named phases in order. Each reads what the phases before it left in
   * the build state; adapters and blocks differ only in their own phases (check-adapter.ts,
   * check-block.ts).
   */
  private readonly buildPhases: readonly (readonly [string, (b: BodyBuild) => void])[] = [
    ['parameters', (b) => this.parameters(b)],
    ['adapterTarget', (b) => b.decl.kind === 'adapter' && bindAdapterTarget(this.ctx, b.info, b.decl, b.claim)],
    ['derivedSizes', (b) => this.derivedSizes(b)],
    ['members', (b) => this.members(b)],
    ['initializers', (b) => this.initializers(b)],
    ['fns', (b) => this.fns(b)],
    ['penalties', (b) => this.penalties(b)],
    ['typedDeclaration', (b) => this.typedDeclaration(b)],
  ];

  private build(info: BodyInfo): void {
    const ctx = this.ctx;
    const seen = new Map<string, Span>();
    const claim = (name: string, span: Span) => {
      if (!name) return false;
      const first = seen.get(name);
      if (first) {
        ctx.error(`duplicate name ${name}`, span, [{ message: `${name} is first declared here`, span: first }]);
        return false;
      }
      seen.set(name, span);
      return true;
    };
    const b: BodyBuild = { info, decl: info.decl, claim, params: [], divisors: [], dimScope: mapScope(info.dims, () => undefined), tensors: [], fns: [], penalties: [] };
    for (const [, phase] of this.buildPhases) phase(b);
  }

  /** Parameters: sizes and scalars. */
  private parameters(b: BodyBuild): void {
    const params = declParams(b.decl.params, b.info.dims, this.ctx, b.claim);
    b.info.dimParams = params.dims;
    b.info.scalars = params.scalars;
    b.params = params.typed;
  }

  /** Derived sizes (`dim dh = d / h`), in order; then the scope members' sizes resolve in. */
  private derivedSizes(b: BodyBuild): void {
    const { info, claim } = b;
    const ctx = this.ctx;
    for (const m of b.decl.members) {
      if (m.kind !== 'dim') continue;
      claim(m.name.name, m.name.span);
      const divs: Dim[] = [];
      const scope = mapScope(info.dims, (n) => (info.scalars.has(n) ? `the ${info.scalars.get(n)!.elem} parameter` : undefined));
      const d = toDim(m.value, scope, (msg, s) => ctx.error(msg, s), (x) => divs.push(x));
      if (d) {
        info.dims.set(m.name.name, withText(d, m.name.name));
        b.divisors.push({ name: m.name.name, value: d, divisors: divs });
      } else info.dims.set(m.name.name, dimSym(m.name.name)); // opaque, so later uses do not report it again
    }
    b.dimScope = mapScope(info.dims, (n) => {
      if (info.scalars.has(n)) return `the ${info.scalars.get(n)!.elem} parameter ${n}`;
      return info.members.has(n) ? 'a member' : undefined;
    });
  }

  /** Members: tensors, linears, instances, fns (penalties only claim their name here). */
  private members(b: BodyBuild): void {
    for (const m of b.decl.members) {
      if (m.kind === 'dim') continue;
      if (m.kind === 'penalty') {
        b.claim(m.name.name, m.name.span);
        continue;
      }
      const { name, span } = memberName(m);
      if (!b.claim(name, span)) continue;
      const member = this.member(b.info, m, b.dimScope);
      if (member) b.info.members.set(name, member);
      else b.info.broken.add(name);
    }
  }

  /** Initializers see the members declared before them. */
  private initializers(b: BodyBuild): void {
    const visible = new Set<string>();
    for (const m of b.decl.members) {
      if (m.kind === 'dim') continue;
      const name = memberName(m).name;
      const mi = b.info.members.get(name);
      if ((m.kind === 'param' || m.kind === 'frozen') && mi?.kind === 'tensor') {
        const init = this.init(b.info, m, mi.type, visible, b.dimScope);
        if (init) b.tensors.push({ path: name, trainable: m.kind === 'param', type: mi.type, init, span: m.span });
      }
      visible.add(name);
    }
  }

  /** Fn signatures and bodies. */
  private fns(b: BodyBuild): void {
    for (const mi of b.info.members.values()) {
      if (mi.kind !== 'fn') continue;
      this.fnSig(b.info, mi.ast.name.name, mi.ast.name.span);
      if (mi.typed) b.fns.push(mi.typed);
    }
  }

  /**
   * Penalties (`penalty kl = ...`): scalars over the adapter's tensors, scalars and sizes, added to
   * the training loss divided by the data set size. Only adapters have them; no noise in them.
   */
  private penalties(b: BodyBuild): void {
    const ctx = this.ctx;
    for (const m of b.decl.members) {
      if (m.kind !== 'penalty') continue;
      if (b.decl.kind !== 'adapter') {
        ctx.error(`a penalty belongs in an adapter (it is added to the loss once per adapted layer), not in a ${b.decl.kind}`, m.span);
        continue;
      }
      const scope: ExprScope = { ctx, body: b.info, host: this, values: new Map(), dims: b.dimScope, scalars: b.info.scalars, noise: `penalty ${m.name.name}` };
      const typed = new ExprChecker(scope).check(m.value);
      if (!typed) continue;
      if (typed.type.shape.length !== 0 || (typed.type.elem !== 'f32' && !typed.type.weak)) {
        ctx.error(
          `penalty ${m.name.name} must be an f32 scalar (it is added to the loss), but ${exprSnippet(m.value, 30)} is ${showType(typed.type)}` +
            (typed.type.shape.length ? '; reduce it with sum(...) or mean(...)' : ''),
          m.value.span,
        );
        continue;
      }
      b.penalties.push({ name: m.name.name, value: typed, span: m.span });
    }
  }

  /** The typed declaration: an adapter's (check-adapter.ts) or a block's or model's (check-block.ts). */
  private typedDeclaration(b: BodyBuild): void {
    const parts: BodyParts = { params: b.params, derived: b.divisors, tensors: b.tensors, fns: b.fns };
    if (b.decl.kind === 'adapter') parts.penalties = b.penalties;
    if (b.decl.kind === 'adapter') {
      checkAdapterForward(this.ctx, b.info);
      b.info.typed = typedAdapter(b.info, b.decl, parts);
    } else b.info.typed = typedBlock(this.ctx, b.info, b.decl, parts);
  }

  private member(info: BodyInfo, m: A.Member, dims: DimScope): MemberInfo | undefined {
    const ctx = this.ctx;
    const where = info.decl.kind;
    switch (m.kind) {
      case 'param':
      case 'frozen': {
        const type = tensorTypeOf(m.type, dims, ctx, `the type of ${m.path.text}`);
        return type ? { kind: 'tensor', trainable: m.kind === 'param', type, path: m.path.text, span: m.span } : undefined;
      }
      case 'linear': {
        if (where === 'adapter') {
          ctx.error('linear layers belong in a model or block, not in an adapter (an adapter adapts one)', m.span);
          return undefined;
        }
        if (m.shape.length !== 2) {
          ctx.error(`a linear layer's weight is [out, in], but ${m.path.text} has ${m.shape.length} dimension${m.shape.length === 1 ? '' : 's'}`, m.span);
          return undefined;
        }
        const out = toDim(m.shape[0]!, dims, (msg, s) => ctx.error(msg, s));
        const inn = toDim(m.shape[1]!, dims, (msg, s) => ctx.error(msg, s));
        return out && inn ? { kind: 'linear', out, in: inn, bias: m.bias, path: m.path.text, span: m.span } : undefined;
      }
      case 'instance':
        return this.instance(info, m, dims);
      case 'fn':
        return { kind: 'fn', ast: m, state: 'new' };
      case 'dim':
      case 'penalty':
        return undefined;
    }
  }

  private instance(info: BodyInfo, m: A.BlockInstanceMember, dims: DimScope): MemberInfo | undefined {
    const ctx = this.ctx;
    if (info.decl.kind === 'adapter') {
      ctx.error('block instances belong in a model or block, not in an adapter', m.span);
      return undefined;
    }
    const name = m.block.name;
    const decl = ctx.decls.get(name);
    if (!decl || (decl.kind !== 'block' && decl.kind !== 'model')) {
      const blocks = [...ctx.decls.values()].filter((d) => d.kind === 'block').map((d) => d.name.name);
      const guess = didYouMean(name, blocks);
      ctx.error(decl ? `${name} is ${decl.kind === 'adapter' ? 'an adapter' : `a ${decl.kind}`}, not a block` : `unknown block ${name}${guess ? `; did you mean ${guess}?` : ''}`, m.block.span);
      return undefined;
    }
    if (decl.kind === 'model') {
      ctx.error(`${name} is a model; only blocks can be instantiated inside a model or block`, m.block.span);
      return undefined;
    }
    const existing = ctx.bodies.get(name);
    if (existing?.state === 'checking') {
      ctx.error(`block ${name} contains itself (through ${m.path.text})`, m.span);
      return undefined;
    }
    if (this.blockDepth >= MAX_BLOCK_NESTING) {
      ctx.error(`blocks nested more than ${MAX_BLOCK_NESTING} deep`, m.span);
      return undefined;
    }
    this.blockDepth++;
    const body = this.body(decl);
    this.blockDepth--;
    const bound = bindArgs(ctx, `block ${name}`, body.dimParams, body.scalars, m.args, dims, m.block.span, true);
    if (!bound) return { kind: 'instance', block: name, body: undefined, dims: new Map(), scalars: new Map(), path: m.path.text, span: m.span };
    return { kind: 'instance', block: name, body, dims: bound.dims, scalars: bound.scalars, path: m.path.text, span: m.span };
  }

  /** The initializer of a param/frozen tensor. */
  private init(info: BodyInfo, m: A.ParamMember | A.FrozenMember, type: TensorType, visible: Set<string>, dims: DimScope): Init | undefined {
    const ctx = this.ctx;
    const e = m.init;
    if (!e) {
      if (m.kind === 'param') {
        ctx.error(`param ${m.path.text} needs an initializer, such as = zeros or = normal(std: 0.02)`, m.span);
        return undefined;
      }
      if (info.decl.kind === 'adapter') {
        ctx.error(`frozen ${m.path.text} needs an initializer: an adapter has no checkpoint to load it from (use a seeded one, e.g. normal(seed: 0))`, m.span);
        return undefined;
      }
      return { kind: 'load' };
    }
    const scope: ExprScope = { ctx, body: info, values: new Map(), dims, scalars: info.scalars, visibleMembers: visible, noise: `the initializer of ${m.path.text}` };
    const checker = new ExprChecker(scope);
    const named = e.kind === 'name' && e.path.segments.length === 1 ? BUILTINS.get(e.path.text) : undefined;
    const called = e.kind === 'call' && e.callee.segments.length === 1 ? BUILTINS.get(e.callee.text) : undefined;
    const builtin = named?.kind === 'init' ? named : called?.kind === 'init' ? called : undefined;
    if (builtin) {
      const options: Record<string, number> = {};
      if (e.kind === 'call') {
        const bound = checker.bindBuiltin(builtin, e);
        if (!bound) return undefined;
        for (const p of builtin.signatures[0]!) {
          const x = bound.bound.get(p.name);
          if (x === undefined || Array.isArray(x)) {
            if (typeof p.default === 'number') options[p.name] = p.default;
            continue;
          }
          const v = constValue(x);
          if (v === undefined || !Number.isFinite(v)) {
            ctx.error(`${builtin.name}: ${p.name} must be a constant number, like 0.02 or sqrt(5)`, x.span);
            return undefined;
          }
          if (p.kind === 'int' && !Number.isSafeInteger(v)) {
            ctx.error(`${builtin.name}: ${p.name} must be a whole number`, x.span);
            return undefined;
          }
          options[p.name] = v;
        }
      } else {
        for (const p of builtin.signatures[0]!) {
          if (!p.optional) {
            ctx.error(`${builtin.name} needs arguments; usage: ${builtin.usage}`, e.span);
            return undefined;
          }
          if (typeof p.default === 'number') options[p.name] = p.default;
        }
      }
      const needs = builtin.name.startsWith('kaiming') ? 1 : builtin.name === 'xavier_uniform' ? 2 : 0;
      if (type.shape.length < needs) {
        ctx.error(`${builtin.name} needs a tensor with at least ${needs} ${needs === 1 ? 'axis (the fan-in is the last)' : 'axes (fan-in and fan-out)'}, but ${m.path.text} is ${showType(type)}`, e.span);
        return undefined;
      }
      ctx.useOp(builtin.name);
      return { kind: 'builtin', name: builtin.name, options };
    }
    const typed = checker.check(e);
    if (!typed) return undefined;
    const b = broadcastShapes(type.shape, typed.type.shape);
    if ((typed.type.elem !== type.elem && !typed.type.weak) || !b.ok || !sameShape(b.shape, type.shape)) {
      ctx.error(`${m.path.text} is ${showType(type)} but its initializer ${exprSnippet(e, 30)} is ${showType(typed.type)}`, e.span);
      return undefined;
    }
    return { kind: 'expr', expr: typed };
  }

  // -------------------------------------------------------------------------------------------
  // Fns

  fnSig(body: BodyInfo, name: string, at: Span): FnSig | undefined {
    const fn = body.members.get(name);
    if (!fn || fn.kind !== 'fn') {
      const fns = [...body.members.values()].filter((m): m is FnInfo => m.kind === 'fn').map((m) => m.ast.name.name);
      this.ctx.error(`${body.decl.name.name} has no fn ${name}${fns.length ? ` (it has ${fns.join(', ')})` : ''}`, at);
      return undefined;
    }
    if (fn.state === 'done') return fn.sig;
    if (fn.state === 'checking') {
      this.ctx.error(`fn ${name} calls itself (directly or through other fns); recursion is not supported`, at);
      return undefined;
    }
    if (this.callDepth >= MAX_CALL_NESTING) {
      this.ctx.error(`fn calls nested more than ${MAX_CALL_NESTING} deep`, at);
      return undefined;
    }
    fn.state = 'checking';
    this.callDepth++;
    this.checkFn(body, fn);
    this.callDepth--;
    fn.state = 'done';
    return fn.sig;
  }

  private checkFn(body: BodyInfo, fn: FnInfo): void {
    const ctx = this.ctx;
    const ast = fn.ast;
    const locals = new Map<string, Dim>();
    const dims: DimScope = {
      lookup: (n) => locals.get(n) ?? body.dims.get(n),
      names: () => [...locals.keys(), ...body.dims.keys()],
      describe: (n) => (body.scalars.has(n) ? `the ${body.scalars.get(n)!.elem} parameter ${n}` : undefined),
    };
    const binding: DimScope = {
      ...dims,
      bind: (n) => {
        const d = dimSym(n);
        locals.set(n, d);
        return d;
      },
    };
    const values = new Map<string, ValueBinding>();
    const poisoned = new Set<string>();
    const params: { name: string; type: TensorType }[] = [];
    let paramsOk = true;
    for (const p of ast.params) {
      if (values.has(p.name.name)) ctx.error(`duplicate parameter ${p.name.name}`, p.name.span);
      const type = tensorTypeOf(p.type, binding, ctx, `parameter ${p.name.name}`);
      if (!type) {
        paramsOk = false;
        poisoned.add(p.name.name);
        continue;
      }
      params.push({ name: p.name.name, type });
      values.set(p.name.name, { type, ref: { kind: 'input', name: p.name.name } });
    }
    const declared = ast.returns ? tensorTypeOf(ast.returns, dims, ctx, `the result of ${ast.name.name}`) : undefined;
    const noise = ast.name.name === 'forward' ? true : `fn ${ast.name.name} of ${body.decl.kind} ${body.decl.name.name}`;
    const scope: ExprScope = { ctx, body, host: this, values, dims, scalars: body.scalars, poisoned, noise };
    const checker = new ExprChecker(scope);
    const stmts: TypedStmt[] = [];
    let returned: TensorType | undefined;
    let sawReturn = false;
    let bodyOk = true;
    for (const s of ast.body) {
      if (sawReturn) {
        ctx.error('unreachable: nothing after return is run', s.span);
        break;
      }
      const typed = checker.check(s.value);
      if (s.kind === 'return') {
        sawReturn = true;
        if (!typed) {
          bodyOk = false;
          continue;
        }
        stmts.push({ kind: 'return', value: typed, span: s.span });
        returned = typed.type;
        if (declared && !sameType(declared, typed.type)) {
          ctx.error(`${ast.name.name} returns ${showType(typed.type)} but is declared to return ${showType(declared)}`, s.value.span);
        }
        continue;
      }
      let type = typed?.type;
      if (s.type) {
        const want = tensorTypeOf(s.type, dims, ctx, `the type of ${s.name.name}`);
        if (want && type && !sameType(want, type)) ctx.error(`${s.name.name} is declared ${showType(want)} but its value is ${showType(type)}`, s.value.span);
        type = want ?? type;
      }
      if (!typed || !type) {
        bodyOk = false;
        // Later uses of a name whose value had errors stay silent: one mistake, one message.
        values.delete(s.name.name);
        poisoned.add(s.name.name);
        continue;
      }
      poisoned.delete(s.name.name);
      const id = ctx.localId();
      stmts.push({ kind: 'let', name: s.name.name, id, value: typed, span: s.span });
      values.set(s.name.name, { type, ref: { kind: 'local', name: s.name.name, id } });
    }
    if (!sawReturn) ctx.error(`fn ${ast.name.name} has no return statement`, ast.name.span);
    const result = declared ?? (bodyOk ? returned : undefined);
    if (paramsOk && result) fn.sig = { params, returns: result, locals: new Set(locals.keys()) };
    if (paramsOk && result && bodyOk) fn.typed = { name: ast.name.name, params, dims: [...locals.keys()], returns: result, body: stmts, span: ast.span };
  }

}

/** Declaration parameters: sizes (`r: dim = 8`) and scalars (`alpha: f32 = 16`). */
export function declParams(
  params: A.DeclParam[],
  dims: Map<string, Dim>,
  ctx: CheckContext,
  claim: (name: string, span: Span) => boolean,
): { dims: BodyInfo['dimParams']; scalars: Map<string, ScalarInfo>; typed: TypedDeclParam[] } {
  const out: BodyInfo['dimParams'] = [];
  const scalars = new Map<string, ScalarInfo>();
  const typed: TypedDeclParam[] = [];
  for (const p of params) {
    const name = p.name.name;
    if (!claim(name, p.name.span)) continue;
    if (p.type.kind === 'dim') {
      let def: Dim | undefined;
      if (p.default) def = toDim(p.default, mapScope(dims), (m, s) => ctx.error(m, s));
      dims.set(name, dimSym(name));
      out.push({ name, ...(def ? { default: def } : {}), span: p.span });
      typed.push({ name, kind: 'dim', ...(def ? { default: def } : {}) });
      continue;
    }
    if (p.type.shape !== null && p.type.shape.length > 0) {
      ctx.error(`parameter ${name} must be a size (dim) or a scalar (f32, i32); tensors are declared with param or frozen`, p.type.span);
      continue;
    }
    const elem = p.type.elem ?? 'f32';
    let def: number | undefined;
    if (p.default) {
      def = constValue(p.default);
      if (def === undefined || !Number.isFinite(def)) ctx.error(`the default of ${name} must be a constant number, like 16 or sqrt(5)`, p.default.span);
      else if (elem === 'i32' && !Number.isSafeInteger(def)) ctx.error(`the default of ${name} must be a whole number (it is i32)`, p.default.span);
    }
    const valid = def !== undefined && Number.isFinite(def);
    // A default with an error still counts as given, so users of the declaration are not also told it is missing.
    scalars.set(name, { elem, ...(valid ? { default: def } : p.default ? { default: 0 } : {}), span: p.span });
    typed.push({ name, kind: 'scalar', elem, ...(valid ? { default: def } : {}) });
  }
  return { dims: out, scalars, typed };
}

/**
 * Binds arguments (`d: d1, h: 8`) to a declaration's parameters: sizes become dims in the caller's
 * scope, scalars must be constants. With `requireDims`, every size without a default must be given.
 */
export function bindArgs(
  ctx: CheckContext,
  what: string,
  dimParams: BodyInfo['dimParams'],
  scalars: Map<string, ScalarInfo>,
  args: A.Arg[],
  scope: DimScope,
  at: Span,
  requireDims: boolean,
): { dims: Map<string, Dim>; scalars: Map<string, number> } | undefined {
  const names = [...dimParams.map((d) => d.name), ...scalars.keys()];
  const given = new Map<string, A.Arg>();
  let ok = true;
  let unknown = false;
  let positional = 0;
  for (const a of args) {
    let name: string | undefined;
    if (a.name) {
      name = a.name.name;
      if (!names.includes(name)) {
        const guess = didYouMean(name, names);
        ctx.error(`${what} has no parameter ${name}${guess ? `; did you mean ${guess}?` : ''}`, a.name.span);
        ok = false;
        unknown = true;
        continue;
      }
    } else {
      name = names[positional++];
      if (name === undefined) {
        ctx.error(`${what} takes ${names.length} argument${names.length === 1 ? '' : 's'} (${names.join(', ')}) but more were given`, a.span);
        ok = false;
        continue;
      }
    }
    if (given.has(name)) {
      ctx.error(`${what}: ${name} is given twice`, a.span);
      ok = false;
      continue;
    }
    given.set(name, a);
  }
  const dims = new Map<string, Dim>();
  const values = new Map<string, number>();
  for (const p of dimParams) {
    const a = given.get(p.name);
    if (a) {
      const d = toDim(a.value, scope, (m, s) => ctx.error(m, s));
      if (d) dims.set(p.name, d);
      else ok = false;
    } else if (p.default) dims.set(p.name, substitute(p.default, dims));
    else if (requireDims) {
      // After a misspelled argument name, the missing one is most likely that one: say it once.
      if (!unknown) ctx.error(`${what} needs a value for its size ${p.name}`, at);
      ok = false;
    }
  }
  for (const [name, s] of scalars) {
    const a = given.get(name);
    if (a) {
      const v = constValue(a.value);
      if (v === undefined || !Number.isFinite(v)) {
        ctx.error(`${what}: ${name} must be a constant number`, a.value.span);
        ok = false;
      } else values.set(name, v);
    } else if (s.default !== undefined) values.set(name, s.default);
    else {
      if (!unknown) ctx.error(`${what} needs a value for ${name}`, at);
      ok = false;
    }
  }
  return ok ? { dims, scalars: values } : undefined;
}
