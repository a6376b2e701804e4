/**
 * The adapter-only parts of checking a body (check-body.ts does what adapters share with blocks):
 * the target weight `W: [out, in]` binds sizes, `forward` must replace `x @ Wᵀ`, and the typed
 * declaration.
 */
import type * as A from '../syntax/ast.ts';
import type { Span } from '../syntax/span.ts';
import type { BodyInfo, CheckContext } from './context.ts';
import { dimEquals, dimSym, dimSymbol } from './dim.ts';
import { sameType, showType, tensor } from './tensor-type.ts';
import { type DimScope, toDim } from './to-dim.ts';
import type { TypedAdapter, TypedDeclParam, TypedDerivedDim, TypedFn, TypedPenalty, TypedTensor } from './typed-program.ts';

/** What every body's checking produces before its kind decides the typed declaration. */
export interface BodyParts {
  params: TypedDeclParam[];
  derived: TypedDerivedDim[];
  tensors: TypedTensor[];
  fns: TypedFn[];
  /** Adapters only. */
  penalties?: TypedPenalty[];
}

/** Binds the sizes the target weight names (`W: [out, in]`), after the parameters. */
export function bindAdapterTarget(ctx: CheckContext, info: BodyInfo, decl: A.AdapterDecl, claim: (name: string, span: Span) => boolean): void {
  claim(decl.target.weight.name, decl.target.weight.span);
  const bound: string[] = [];
  const scope: DimScope = {
    lookup: (n) => info.dims.get(n),
    names: () => info.dims.keys(),
    bind: (n) => {
      const d = dimSym(n);
      info.dims.set(n, d);
      bound.push(n);
      return d;
    },
  };
  const shape = decl.target.shape.map((e) => toDim(e, scope, (m, s) => ctx.error(m, s)));
  const rank = decl.target.shape.length;
  if (rank !== 2) ctx.error(`the target of an adapter is a linear weight [out, in], but this has ${rank} dimension${rank === 1 ? '' : 's'}`, decl.target.span);
  else if (shape[0] && shape[1]) info.target = { name: decl.target.weight.name, out: shape[0], in: shape[1], dims: bound };
}

/** `forward` takes the rows of the layer's input, x: [n, in], and returns [n, out]. */
export function checkAdapterForward(ctx: CheckContext, info: BodyInfo): void {
  const decl = info.decl as A.AdapterDecl;
  const fwd = info.members.get('forward');
  const target = info.target;
  if (!fwd || fwd.kind !== 'fn') {
    ctx.error(`adapter ${decl.name.name} needs fn forward(x: [n, in]) -> [n, out]: what replaces x @ ${decl.target.weight.name}^T`, decl.name.span);
    return;
  }
  if (!target || !fwd.sig) return;
  const [x] = fwd.sig.params;
  const rows = x && x.type.shape.length === 2 ? dimSymbol(x.type.shape[0]!) : undefined;
  const shapeOk =
    fwd.sig.params.length === 1 && x !== undefined && x.type.elem === 'f32' && rows !== undefined && fwd.sig.locals.has(rows) && dimEquals(x.type.shape[1]!, target.in);
  if (!shapeOk) {
    ctx.error(`an adapter's forward takes one input, the rows of the layer's input: x: [n, ${target.in.text}]`, fwd.ast.params[0]?.span ?? fwd.ast.name.span);
    return;
  }
  const want = tensor('f32', [x.type.shape[0]!, target.out]);
  if (!sameType(want, fwd.sig.returns)) {
    ctx.error(`an adapter's forward must return ${showType(want)} (the layer's output) but returns ${showType(fwd.sig.returns)}`, fwd.ast.returns?.span ?? fwd.ast.name.span);
  }
}

/** The typed adapter declaration. */
export function typedAdapter(info: BodyInfo, decl: A.AdapterDecl, parts: BodyParts): TypedAdapter {
  const target = info.target;
  return {
    kind: 'adapter',
    name: decl.name.name,
    ...parts,
    penalties: parts.penalties ?? [],
    target: { name: decl.target.weight.name, out: target?.out ?? dimSym('out'), in: target?.in ?? dimSym('in') },
    span: decl.span,
  };
}
