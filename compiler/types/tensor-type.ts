import { type Dim, dimEquals, dimValue, dimConst } from './dim.ts';

export type ElemType = 'f32' | 'i32';

/**
 * The type of a value: element type and shape (outermost axis first; `[]` for a scalar).
 * `weak` marks integer literals and dims used as values: they take the element type of whatever
 * they are combined with (`alpha / r` is f32, `ids + 1` is i32).
 */
export interface TensorType {
  elem: ElemType;
  shape: Dim[];
  weak?: boolean;
}

export function scalar(elem: ElemType, weak = false): TensorType {
  return weak ? { elem, shape: [], weak } : { elem, shape: [] };
}

export function tensor(elem: ElemType, shape: Dim[]): TensorType {
  return { elem, shape };
}

function showDim(d: Dim): string {
  return d.text;
}

/** `[n, in]` for f32 tensors, `i32[b, t]`, `f32` / `i32` for scalars. */
export function showType(t: TensorType): string {
  if (t.shape.length === 0) return t.elem;
  const s = `[${t.shape.map(showDim).join(', ')}]`;
  return t.elem === 'f32' ? s : `${t.elem}${s}`;
}

export function showShape(shape: Dim[]): string {
  return `[${shape.map(showDim).join(', ')}]`;
}

/** `b * t * d`, for element counts in messages. */
export function showProduct(shape: Dim[]): string {
  if (shape.length === 0) return '1';
  return shape.map((d) => (/[+\-/ ]/.test(d.text) ? `(${d.text})` : d.text)).join(' * ');
}

export function sameShape(a: Dim[], b: Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimEquals(d, b[i]!));
}

function isOne(d: Dim): boolean {
  return dimValue(d) === 1;
}

/** Result of broadcasting shapes, or the first pair of sizes (from the right) that clash. */
export type BroadcastResult = { ok: true; shape: Dim[] } | { ok: false; left: Dim; right: Dim };

/** NumPy broadcasting: align from the right; sizes must match or be 1; missing leading axes are 1. */
export function broadcastShapes(a: Dim[], b: Dim[]): BroadcastResult {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i];
    const y = b[b.length - n + i];
    if (x === undefined) out.push(y!);
    else if (y === undefined) out.push(x);
    else if (dimEquals(x, y)) out.push(x);
    else if (isOne(x)) out.push(y);
    else if (isOne(y)) out.push(x);
    else return { ok: false, left: x, right: y };
  }
  return { ok: true, shape: out };
}

export const ONE = dimConst(1);

/** The same type (element type and every size), allowing a weak literal to take the element type. */
export function sameType(a: TensorType, b: TensorType): boolean {
  return (a.elem === b.elem || a.weak === true || b.weak === true) && sameShape(a.shape, b.shape);
}
