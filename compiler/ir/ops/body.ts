/**
 * The body of a `fusedElementwise` node: a small straight-line program of elementwise, layout and
 * source ops over the node's operands, kept as readable text in the node's `body` attr so a fused
 * graph still prints, hashes, serialises and evaluates like any other.
 *
 *   mul($0, $1); add(%0, 0.5); dropout(%1, $2) {p: 0.1, stream: 3}
 *
 * - `$k` is operand k of the fused node, `%k` the result of instruction k, a bare number an f32
 *   scalar constant. The last instruction's value is the node's value.
 * - `{key: value}` lists the attrs that differ from the op's defaults (as the printer does).
 * - Every instruction runs the op's own shape rule and evaluator, so a fused node computes
 *   exactly what the ops it replaced computed (the interpreter gives bit-identical results).
 */
import { IRShapeError } from '../errors.ts';
import { formatAttr, formatNumber } from '../formatAttr.ts';
import type { AttrValue, Attrs, TypeInfo } from '../types.ts';
import { PRIMITIVE_OPS, isPrimitiveOp, type PrimitiveAttrs, type PrimitiveOpName } from './primitive.ts';
import { attrMatchesKind, type OpSpec } from './spec.ts';

/** The primitive op table, its rules over untyped attrs (a body instruction's attrs are checked by its schema). */
const OPS: { readonly [K in PrimitiveOpName]: OpSpec } = PRIMITIVE_OPS;

/** An instruction argument: an operand of the fused node, an earlier result, or an f32 scalar. */
export type BodyArg = { readonly operand: number } | { readonly result: number } | { readonly scalar: number };

/**
 * One instruction: a primitive op, its arguments, and every attr of the op's schema (defaults
 * filled), typed by that schema — a `switch (ins.op)` narrows `ins.attrs`.
 */
export type BodyInstruction = {
  readonly [K in PrimitiveOpName]: { readonly op: K; readonly args: readonly BodyArg[]; readonly attrs: PrimitiveAttrs<K> };
}[PrimitiveOpName];

/**
 * The instruction computing `node`'s op over `args` (a node the fusion passes or the scheduler
 * turn into a body). Its attrs are the node's own, complete and checked by the graph's verifier.
 */
export function instructionOf(node: { readonly op: string; readonly attrs: Attrs }, args: readonly BodyArg[]): BodyInstruction {
  if (!isBodyOp(node.op)) throw bodyError(`body: "${node.op}" cannot be part of a fused elementwise body`);
  return { op: node.op, args, attrs: node.attrs } as BodyInstruction;
}

export type FusedBody = readonly BodyInstruction[];

/**
 * Most elements a reduction inside a body may read: a small operand reduced whole to a scalar
 * (a posterior's count of filled ring rows) is cheaper to loop over in every invocation than to
 * give its own launch.
 */
export const MAX_BODY_REDUCTION = 64;

/**
 * Ops a body may contain: elementwise maths, index remaps and sources computable per element,
 * and reductions of a small operand to a scalar (see `isBodyReduction`).
 */
export function isBodyOp(op: string): op is PrimitiveOpName {
  if (!isPrimitiveOp(op)) return false;
  const kind = OPS[op].kind;
  if (kind === 'elementwise' || kind === 'reduction') return true;
  if (kind === 'layout') return op !== 'concat';
  return kind === 'source' && op !== 'input';
}

function bodyError(detail: string, operands: readonly TypeInfo[] = []): IRShapeError {
  return new IRShapeError('fusedElementwise', operands.map((t) => t.shape), detail);
}

function formatArg(a: BodyArg): string {
  if ('operand' in a) return `$${a.operand}`;
  if ('result' in a) return `%${a.result}`;
  return formatNumber(a.scalar);
}

/** The canonical text of a body (what the `body` attr holds). */
export function printBody(body: FusedBody): string {
  return body
    .map((ins) => {
      const spec = OPS[ins.op];
      const shown: string[] = [];
      for (const [key, attrSpec] of Object.entries(spec.attrs)) {
        const attrs: Attrs = ins.attrs;
        const v = attrs[key]!;
        if (attrSpec.default !== undefined && JSON.stringify(v) === JSON.stringify(attrSpec.default)) continue;
        shown.push(`${key}: ${formatAttr(v)}`);
      }
      const args = ins.args.length ? `(${ins.args.map(formatArg).join(', ')})` : '';
      return `${ins.op}${args}${shown.length ? ` {${shown.join(', ')}}` : ''}`;
    })
    .join('; ');
}

const TOKEN = /\s*(?:(-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|([$%]\d+)|([A-Za-z_][A-Za-z0-9_]*)|("(?:[^"\\]|\\.)*")|([(){}[\],:;]))/y;

const parsed = new Map<string, FusedBody>();

/** Parses body text (cached: bodies are re-read by every shape check and evaluation). */
export function parseBody(text: string): FusedBody {
  const hit = parsed.get(text);
  if (hit) return hit;
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw bodyError(`body: cannot read "${text.slice(at, at + 12)}"`);
    tokens.push(m[0].trim());
  }
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const next = (): string => {
    const t = tokens[pos++];
    if (t === undefined) throw bodyError('body: unexpected end');
    return t;
  };
  const expect = (t: string): void => {
    const got = next();
    if (got !== t) throw bodyError(`body: expected "${t}", got "${got}"`);
  };
  const isNumber = (t: string | undefined): boolean => t !== undefined && /^-?[\d.]/.test(t);
  const value = (): AttrValue => {
    const t = next();
    if (t === '[') {
      const items: number[] = [];
      while (peek() !== ']') {
        const item = next();
        if (!isNumber(item)) throw bodyError(`body: "${item}" in a number list`);
        items.push(Number(item));
        if (peek() === ',') next();
      }
      next();
      return items;
    }
    if (t === 'true' || t === 'false') return t === 'true';
    if (t.startsWith('"')) return JSON.parse(t) as string;
    if (isNumber(t)) return Number(t);
    throw bodyError(`body: bad attr value "${t}"`);
  };

  const body: BodyInstruction[] = [];
  while (pos < tokens.length) {
    const op = next();
    if (!isBodyOp(op)) throw bodyError(`body: "${op}" cannot be part of a fused elementwise body`);
    const args: BodyArg[] = [];
    if (peek() === '(') {
      next();
      while (peek() !== ')') {
        const t = next();
        if (t.startsWith('$')) args.push({ operand: Number(t.slice(1)) });
        else if (t.startsWith('%')) {
          const result = Number(t.slice(1));
          if (result >= body.length) throw bodyError(`body: %${result} used before it is defined`);
          args.push({ result });
        } else if (isNumber(t)) args.push({ scalar: Number(t) });
        else throw bodyError(`body: bad argument "${t}"`);
        if (peek() === ',') next();
      }
      next();
    }
    const given: Record<string, AttrValue> = {};
    if (peek() === '{') {
      next();
      while (peek() !== '}') {
        const key = next();
        expect(':');
        given[key] = value();
        if (peek() === ',') next();
      }
      next();
    }
    const spec = OPS[op];
    const attrs: Record<string, AttrValue> = {};
    for (const key of Object.keys(given)) if (!(key in spec.attrs)) throw bodyError(`body: ${op} has no attr "${key}"`);
    for (const [key, attrSpec] of Object.entries(spec.attrs)) {
      const v = given[key] ?? attrSpec.default;
      if (v === undefined || !attrMatchesKind(attrSpec.kind, v)) throw bodyError(`body: ${op} needs a valid attr "${key}"`);
      attrs[key] = v;
    }
    const arity = spec.arity;
    if (arity !== 'variadic' && args.length !== arity) throw bodyError(`body: ${op} takes ${arity} operands, has ${args.length}`);
    body.push(instructionOf({ op, attrs }, args));
    if (pos < tokens.length) expect(';');
  }
  if (body.length === 0) throw bodyError('body: empty');
  if (parsed.size > 10000) parsed.clear();
  parsed.set(text, body);
  return body;
}

const SCALAR: TypeInfo = { shape: [], dtype: 'f32' };

function argType(a: BodyArg, operands: readonly TypeInfo[], results: readonly TypeInfo[]): TypeInfo {
  if ('operand' in a) {
    const t = operands[a.operand];
    if (!t) throw bodyError(`body: $${a.operand} but the node has ${operands.length} operands`, operands);
    return t;
  }
  if ('result' in a) return results[a.result]!;
  return SCALAR;
}

/** A reduction a body may hold: every axis of an f32 operand of at most MAX_BODY_REDUCTION elements, to a scalar. */
export function isBodyReduction(operand: TypeInfo, attrs: { readonly axes: readonly number[]; readonly keepDims: boolean }): boolean {
  const axes = attrs.axes;
  const count = operand.shape.reduce((a, b) => a * b, 1);
  return operand.dtype === 'f32' && count <= MAX_BODY_REDUCTION && attrs.keepDims === false && axes.length === operand.shape.length && axes.every((a, i) => a === i);
}

/** The type of every instruction's result, by the ops' own shape rules. */
export function inferBody(body: FusedBody, operands: readonly TypeInfo[]): TypeInfo[] {
  const results: TypeInfo[] = [];
  for (const ins of body) {
    const types = ins.args.map((a) => argType(a, operands, results));
    if ((ins.op === 'sum' || ins.op === 'mean' || ins.op === 'reduceMax') && !('operand' in ins.args[0]! && isBodyReduction(types[0]!, ins.attrs))) {
      throw bodyError(`body: ${ins.op} must reduce a whole operand $k of at most ${MAX_BODY_REDUCTION} elements to a scalar`, operands);
    }
    try {
      results.push(OPS[ins.op].infer(types, ins.attrs));
    } catch (e) {
      if (e instanceof IRShapeError) throw bodyError(`body: ${e.message}`, operands);
      throw e;
    }
  }
  return results;
}
