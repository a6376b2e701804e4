import type * as A from '../syntax/ast.ts';
import type { DiagnosticNote } from '../syntax/diagnostic.ts';
import { didYouMean } from '../syntax/did-you-mean.ts';
import type { Span } from '../syntax/span.ts';
import { type BodyChecker, bindArgs } from './check-body.ts';
import type { CheckContext, ScalarInfo, TopDecl } from './context.ts';
import { type Dim, dimAdd, dimConst, dimEquals, dimProduct, dimSym, dimSymbol, substitute } from './dim.ts';
import { matchesPattern, patternCandidates } from './pattern.ts';
import { substType } from './resolve-member.ts';
import { showShape } from './tensor-type.ts';
import { mapScope } from './to-dim.ts';
import type { TypedAttachment, TypedFinetune, TypedLinear } from './typed-program.ts';

function lookup(ctx: CheckContext, name: A.Ident, kinds: TopDecl['kind'][], what: string): TopDecl | undefined {
  if (!name.name) return undefined;
  const d = ctx.decls.get(name.name);
  if (d && kinds.includes(d.kind)) return d;
  if (d) {
    ctx.error(`${name.name} is ${d.kind === 'adapter' ? 'an adapter' : `a ${d.kind}`}, not ${what}`, name.span);
    return undefined;
  }
  const candidates = [...ctx.decls.values()].filter((x) => kinds.includes(x.kind)).map((x) => x.name.name);
  const guess = didYouMean(name.name, candidates);
  ctx.error(`unknown ${what.replace(/^an? /, '')} ${name.name}${guess ? `; did you mean ${guess}?` : ''}`, name.span);
  return undefined;
}

function listed(paths: string[]): string {
  const shown = paths.slice(0, 8).join(', ');
  return paths.length > 8 ? `${shown}, … (${paths.length} in all)` : shown;
}

/**
 * Checks a finetune: the model and its sizes, each `adapt` (patterns must match linear layers,
 * each layer adapted once, the adapter's `W: [out, in]` must fit the layer's weight), the
 * posteriors (one over params, one over linears); and lays out theta, the vector of every trainable parameter.
 */
export function checkFinetune(ctx: CheckContext, bodies: BodyChecker, decl: A.FinetuneDecl): TypedFinetune | undefined {
  const modelDecl = lookup(ctx, decl.model, ['model'], 'a model') as A.BlockDecl | undefined;
  if (!modelDecl) return undefined;
  const model = bodies.body(modelDecl);
  const typedModel = model.typed;
  if (!typedModel || typedModel.kind === 'adapter') return undefined;
  const modelArgs = bindArgs(ctx, `model ${modelDecl.name.name}`, model.dimParams, model.scalars, decl.args, mapScope(new Map()), decl.model.span, false);
  if (!modelArgs) return undefined;
  // Sizes not given stay symbolic: the runtime binds them from the checkpoint.
  const modelDims = new Map<string, Dim>();
  for (const p of model.dimParams) modelDims.set(p.name, modelArgs.dims.get(p.name) ?? dimSym(p.name));
  const linears: TypedLinear[] = typedModel.flat.linears.map((l) => ({ ...l, out: substitute(l.out, modelDims), in: substitute(l.in, modelDims) }));
  const paths = linears.map((l) => l.path);
  const adaptedBy = new Map<string, Span>();
  const attachments: TypedAttachment[] = [];
  // One posterior over params and one over linears at most (the demo's Laplace: a diagonal and KFAC, from one pass).
  const posteriors: { params?: TypedFinetune['posterior']; linears?: TypedFinetune['posterior'] } = {};
  const posteriorSpans: { params?: Span; linears?: Span } = {};
  const scope = mapScope(modelDims);
  // Adapter tensors are named `<layer>.<name>`; they must not take the name of a model tensor.
  const taken = new Set([...typedModel.flat.tensors.map((t) => t.path), ...typedModel.flat.linears.flatMap((l) => [`${l.path}.weight`, `${l.path}.bias`])]);

  for (const m of decl.members) {
    if (m.kind === 'posterior') {
      const pd = lookup(ctx, m.posterior, ['posterior'], 'a posterior') as A.PosteriorDecl | undefined;
      if (!pd) continue;
      const typed = ctx.posteriors.get(pd.name.name);
      if (!typed) continue;
      const first = posteriorSpans[typed.over];
      if (first) {
        ctx.error(`a finetune has one posterior over ${typed.over} (and may have one over ${typed.over === 'params' ? 'linears' : 'params'} beside it)`, m.span, [{ message: 'the first one is here', span: first }]);
        continue;
      }
      posteriorSpans[typed.over] = m.span;
      const dimParams = typed.params.flatMap((p) => (p.kind === 'dim' ? [{ name: p.name, ...(p.default ? { default: p.default } : {}), span: m.span }] : []));
      const scalars = new Map<string, ScalarInfo>();
      for (const p of typed.params) if (p.kind === 'scalar') scalars.set(p.name, { elem: p.elem, ...(p.default !== undefined ? { default: p.default } : {}), span: m.span });
      const bound = bindArgs(ctx, `posterior ${pd.name.name}`, dimParams, scalars, m.args, scope, m.posterior.span, true);
      if (bound) posteriors[typed.over] = { name: pd.name.name, dims: Object.fromEntries(bound.dims), scalars: Object.fromEntries(bound.scalars) };
      continue;
    }
    const adapterDecl = lookup(ctx, m.adapter, ['adapter'], 'an adapter') as A.AdapterDecl | undefined;
    const adapter = adapterDecl ? bodies.body(adapterDecl) : undefined;
    const bound = adapter ? bindArgs(ctx, `adapter ${adapter.decl.name.name}`, adapter.dimParams, adapter.scalars, m.args, scope, m.adapter.span, true) : undefined;
    for (const t of m.targets) {
      const hits = linears.filter((l) => matchesPattern(t.pattern, l.path));
      if (hits.length === 0) {
        const guess = didYouMean(t.pattern, patternCandidates(t.pattern, paths));
        const model = modelDecl.name.name;
        const notes: DiagnosticNote[] = [{ message: paths.length ? `the linear layers of ${model} are ${listed(paths)}` : `${model} has no linear layers` }];
        ctx.error(`"${t.pattern}" matches no linear layer of ${modelDecl.name.name}${guess ? `; did you mean "${guess}"?` : ''}`, t.span, notes);
        continue;
      }
      for (const layer of hits) {
        const first = adaptedBy.get(layer.path);
        if (first) {
          ctx.error(`layer ${layer.path} is already adapted`, t.span, [{ message: `by this pattern`, span: first }]);
          continue;
        }
        adaptedBy.set(layer.path, t.span);
        if (!adapter || !bound || !adapter.target || !adapter.typed) continue;
        const map = new Map(bound.dims);
        const target = adapter.target;
        let fits = true;
        for (const [want, got] of [
          [target.out, layer.out],
          [target.in, layer.in],
        ] as const) {
          const sym = dimSymbol(want);
          if (sym && target.dims.includes(sym) && !map.has(sym)) map.set(sym, got);
          else if (!dimEquals(substitute(want, map), got)) fits = false;
        }
        if (!fits) {
          ctx.error(
            `adapter ${adapter.decl.name.name} needs ${target.name}: ${showShape([target.out, target.in])}, but layer ${layer.path} has weight ${showShape([layer.out, layer.in])}`,
            t.span,
          );
          continue;
        }
        const tensors = adapter.typed.tensors.map((x) => ({ ...x, path: `${layer.path}.${x.path}`, type: substType(x.type, map) }));
        const clash = tensors.find((x) => taken.has(x.path));
        if (clash) {
          ctx.error(`adapter ${adapter.decl.name.name} on ${layer.path} would name a tensor ${clash.path}, which the model already has`, t.span);
          continue;
        }
        const dims = Object.fromEntries(map);
        attachments.push({ layer: layer.path, adapter: adapter.decl.name.name, dims, scalars: Object.fromEntries(bound.scalars), tensors, span: t.span });
      }
    }
  }

  const entries: { path: string; type: TypedAttachment['tensors'][number]['type'] }[] = [];
  for (const a of attachments) for (const x of a.tensors) if (x.trainable) entries.push({ path: x.path, type: x.type });
  for (const x of typedModel.flat.tensors) if (x.trainable) entries.push({ path: x.path, type: substType(x.type, modelDims) });
  const size = entries.reduce((acc, e) => dimAdd(acc, dimProduct(e.type.shape)), dimConst(0));
  return {
    kind: 'finetune',
    name: decl.name.name,
    model: modelDecl.name.name,
    dims: Object.fromEntries(modelDims),
    scalars: Object.fromEntries(modelArgs.scalars),
    attachments,
    theta: { entries, size },
    ...(posteriors.params ? { posterior: posteriors.params } : {}),
    ...(posteriors.linears ? { linearsPosterior: posteriors.linears } : {}),
    span: decl.span,
  };
}
