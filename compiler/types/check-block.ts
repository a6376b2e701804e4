/**
 * The block- and model-only parts of checking a body (check-body.ts does what they share with
 * adapters): a model needs `forward`, linears and block instances are listed, and every tensor and
 * linear reachable through instances is flattened to full paths in the body's own sizes.
 */
import type * as A from '../syntax/ast.ts';
import type { BodyParts } from './check-adapter.ts';
import type { BodyInfo, CheckContext } from './context.ts';
import { substitute } from './dim.ts';
import { substType } from './resolve-member.ts';
import type { TypedBlock, TypedInstance, TypedLinear, TypedTensor } from './typed-program.ts';

/** The typed block or model declaration. */
export function typedBlock(ctx: CheckContext, info: BodyInfo, decl: A.BlockDecl, parts: BodyParts): TypedBlock {
  if (decl.kind === 'model' && !info.members.has('forward')) ctx.error(`model ${decl.name.name} needs fn forward(...): what the network computes`, decl.name.span);
  const linears: TypedLinear[] = [];
  const instances: TypedInstance[] = [];
  for (const mi of info.members.values()) {
    if (mi.kind === 'linear') linears.push({ path: mi.path, out: mi.out, in: mi.in, bias: mi.bias, span: mi.span });
    if (mi.kind === 'instance') {
      instances.push({ path: mi.path, block: mi.block, dims: Object.fromEntries(mi.dims), scalars: Object.fromEntries(mi.scalars), span: mi.span });
    }
  }
  return {
    kind: decl.kind,
    name: decl.name.name,
    ...parts,
    linears,
    instances,
    flat: flatten(info, parts.tensors, linears),
    span: decl.span,
  };
}

/** Every tensor and linear reachable from a body, in declaration order, with full paths and shapes in its sizes. */
function flatten(info: BodyInfo, tensors: TypedTensor[], linears: TypedLinear[]): { tensors: TypedTensor[]; linears: TypedLinear[] } {
  const outT: TypedTensor[] = [];
  const outL: TypedLinear[] = [];
  for (const mi of info.members.values()) {
    if (mi.kind === 'tensor') outT.push(...tensors.filter((t) => t.path === mi.path));
    if (mi.kind === 'linear') outL.push(...linears.filter((l) => l.path === mi.path));
    if (mi.kind !== 'instance' || !mi.body?.typed || mi.body.typed.kind === 'adapter') continue;
    const inner = mi.body.typed.flat;
    const s = mi.dims;
    for (const t of inner.tensors) outT.push({ ...t, path: `${mi.path}.${t.path}`, type: substType(t.type, s) });
    for (const l of inner.linears) outL.push({ ...l, path: `${mi.path}.${l.path}`, out: substitute(l.out, s), in: substitute(l.in, s) });
  }
  return { tensors: outT, linears: outL };
}
