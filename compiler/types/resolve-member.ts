import type { BodyInfo, MemberInfo } from './context.ts';
import { type Dim, substitute } from './dim.ts';
import type { TensorType } from './tensor-type.ts';

/** A member found by path, possibly inside block instances. */
export interface ResolvedMember {
  member: MemberInfo;
  /** The full path from the declaration where the lookup started (`layers.0.attn.qkv`). */
  path: string;
  /** The path of the block instance that owns the member ('' for the declaration's own). */
  owner: string;
  /** The body that declares the member. */
  body: BodyInfo;
  /** Maps the owner's sizes to the sizes of the declaration where the lookup started; empty = same. */
  subst: Map<string, Dim>;
  /** The member of the starting declaration the lookup went through (`layers.0`, `attn.qkv`). */
  top: string;
  /** `weight` / `bias` of a linear layer, when the path named one. */
  field?: 'weight' | 'bias';
}

function compose(inner: Map<string, Dim>, outer: Map<string, Dim>): Map<string, Dim> {
  if (inner.size === 0) return outer;
  return new Map([...inner].map(([k, v]) => [k, substitute(v, outer)]));
}

/**
 * Finds the member named by `segments`: the longest declared path that is a prefix, then, through
 * a block instance, the rest inside the block; `.weight`/`.bias` of a linear layer.
 */
export function resolveMember(body: BodyInfo, segments: string[], depth = 0): ResolvedMember | undefined {
  if (depth > 32) return undefined;
  for (let k = segments.length; k >= 1; k--) {
    const key = segments.slice(0, k).join('.');
    const m = body.members.get(key);
    if (!m) continue;
    const rest = segments.slice(k);
    if (rest.length === 0) return { member: m, path: key, owner: '', body, subst: new Map(), top: key };
    if (m.kind === 'linear' && rest.length === 1 && (rest[0] === 'weight' || (rest[0] === 'bias' && m.bias))) {
      return { member: m, path: `${key}.${rest[0]}`, owner: '', body, subst: new Map(), top: key, field: rest[0] };
    }
    if (m.kind === 'instance' && m.body) {
      const inner = resolveMember(m.body, rest, depth + 1);
      if (!inner) return undefined;
      return { ...inner, path: `${key}.${inner.path}`, owner: inner.owner ? `${key}.${inner.owner}` : key, subst: compose(inner.subst, m.dims), top: key };
    }
    return undefined;
  }
  return undefined;
}

export function substType(t: TensorType, subst: ReadonlyMap<string, Dim>): TensorType {
  if (subst.size === 0) return t;
  return { ...t, shape: t.shape.map((d) => substitute(d, subst)) };
}

/** Every path an expression could name in `body`, for did-you-mean (tensors, linears, their fields, fns, instances, one level into instances). */
export function memberPaths(body: BodyInfo, depth = 0): string[] {
  const out: string[] = [];
  for (const [path, m] of body.members) {
    out.push(path);
    if (m.kind === 'linear') {
      out.push(`${path}.weight`);
      if (m.bias) out.push(`${path}.bias`);
    }
    if (m.kind === 'instance' && m.body && depth < 4) for (const p of memberPaths(m.body, depth + 1)) out.push(`${path}.${p}`);
  }
  return out;
}
