import type { MatmulConfig } from './config.ts';
import { COMPONENTS, ENTRY_ARGS, Lines, add, emitTileIndex, u } from './wgsl-common.ts';
import type { MatmulVariant } from './variant.ts';

/**
 * One side of a product as the register kernel reads it. The left side runs along M (rows i of
 * the thread's tile), the right side along N (columns 4q+r). `alongK` says the operand's rows are
 * contiguous in K (A, A2 and Bᵀ, B2 are); otherwise it is stored K-major ([K, M] or [K, N]).
 */
interface Operand {
  array: string;
  base: string;
  alongK: boolean;
  vec: boolean;
  /** Row length of an alongK operand (the inner size). */
  inner: string;
  /** Row length of a K-major operand (M or N). */
  outer: string;
  /** Multiplies every loaded value (the s of [x | s·u]). */
  scale?: string;
  /** Prefix of the names its loaded values get. */
  prefix: string;
}

const plus = add;
/** `k + 1u` needs parentheses inside a product; a bare `k` does not. */
const paren = (e: string): string => (/^\w+$/.test(e) ? e : `(${e})`);
const scaled = (op: Operand, expr: string): string => (op.scale ? `${op.scale} * ${expr}` : expr);

/** Emits the loads of the left operand for k..k+3; returns the scalar value of row i at k+kk. */
function loadLeft4(w: Lines, op: Operand, c: MatmulConfig, k: string): (i: number, kk: number) => string {
  const { array, base, prefix: x } = op;
  if (op.alongK) {
    for (let i = 0; i < c.tileM; i++) {
      const at = `${base} + m${i} * ${op.inner} + ${k}`;
      w.line(`let ${x}${i} = ${scaled(op, op.vec ? `${array}[(${at}) / 4u]` : `load4_${array}(${at})`)};`);
    }
    return (i, kk) => `${x}${i}.${COMPONENTS[kk]}`;
  }
  for (let kk = 0; kk < 4; kk++) {
    if (op.vec) {
      for (let g = 0; g < c.tileM / 4; g++) {
        w.line(`let ${x}${kk}_${g} = ${scaled(op, `${array}[(${base} + ${paren(plus(k, kk))} * ${op.outer}) / 4u + mg${g}]`)};`);
      }
    } else {
      for (let i = 0; i < c.tileM; i++) {
        w.line(`let ${x}${kk}_${i} = ${scaled(op, `${array}[${base} + ${paren(plus(k, kk))} * ${op.outer} + m${i}]`)};`);
      }
    }
  }
  return op.vec ? (i, kk) => `${x}${kk}_${i >> 2}.${COMPONENTS[i & 3]}` : (i, kk) => `${x}${kk}_${i}`;
}

/** Emits the loads of the right operand for k..k+3; returns the vec4 of group q at k+kk. */
function loadRight4(w: Lines, op: Operand, c: MatmulConfig, k: string): (q: number, kk: number) => string {
  const { array, base, prefix: x } = op;
  const groups = c.tileN / 4;
  if (op.alongK) {
    for (let q = 0; q < groups; q++) {
      for (let r = 0; r < 4; r++) {
        const at = `${base} + n${q}_${r} * ${op.inner} + ${k}`;
        w.line(`let ${x}t${q}_${r} = ${scaled(op, op.vec ? `${array}[(${at}) / 4u]` : `load4_${array}(${at})`)};`);
      }
    }
    // Each load holds 4 values of k for one column; regroup them as 4 columns per k.
    for (let kk = 0; kk < 4; kk++) {
      for (let q = 0; q < groups; q++) {
        const cols = [0, 1, 2, 3].map((r) => `${x}t${q}_${r}.${COMPONENTS[kk]}`).join(', ');
        w.line(`let ${x}${kk}_${q} = vec4<f32>(${cols});`);
      }
    }
  } else {
    for (let kk = 0; kk < 4; kk++) {
      const row = `${base} + ${paren(plus(k, kk))} * ${op.outer}`;
      if (op.vec) {
        for (let q = 0; q < groups; q++) w.line(`let ${x}${kk}_${q} = ${scaled(op, `${array}[(${row}) / 4u + ng${q}]`)};`);
      } else {
        w.line(`let ${x}row${kk} = ${row};`);
        for (let q = 0; q < groups; q++) {
          const cols = [0, 1, 2, 3].map((r) => `${array}[${x}row${kk} + n${q}_${r}]`).join(', ');
          w.line(`let ${x}${kk}_${q} = ${scaled(op, `vec4<f32>(${cols})`)};`);
        }
      }
    }
  }
  return (q, kk) => `${x}${kk}_${q}`;
}

/** Emits the loads of the left operand for a single k; returns the value of row i. */
function loadLeft1(w: Lines, op: Operand, c: MatmulConfig, k: string): (i: number) => string {
  const { array, base, prefix: x } = op;
  if (op.alongK) {
    for (let i = 0; i < c.tileM; i++) w.line(`let ${x}${i} = ${scaled(op, `${array}[${base} + m${i} * ${op.inner} + ${k}]`)};`);
    return (i) => `${x}${i}`;
  }
  if (op.vec) {
    for (let g = 0; g < c.tileM / 4; g++) w.line(`let ${x}${g} = ${scaled(op, `${array}[(${base} + ${k} * ${op.outer}) / 4u + mg${g}]`)};`);
    return (i) => `${x}${i >> 2}.${COMPONENTS[i & 3]}`;
  }
  for (let i = 0; i < c.tileM; i++) w.line(`let ${x}${i} = ${scaled(op, `${array}[${base} + ${k} * ${op.outer} + m${i}]`)};`);
  return (i) => `${x}${i}`;
}

/** Emits the loads of the right operand for a single k; returns the vec4 of group q. */
function loadRight1(w: Lines, op: Operand, c: MatmulConfig, k: string): (q: number) => string {
  const { array, base, prefix: x } = op;
  const groups = c.tileN / 4;
  if (op.alongK) {
    for (let q = 0; q < groups; q++) {
      const cols = [0, 1, 2, 3].map((r) => `${array}[${base} + n${q}_${r} * ${op.inner} + ${k}]`).join(', ');
      w.line(`let ${x}${q} = ${scaled(op, `vec4<f32>(${cols})`)};`);
    }
  } else if (op.vec) {
    for (let q = 0; q < groups; q++) w.line(`let ${x}${q} = ${scaled(op, `${array}[(${base} + ${k} * ${op.outer}) / 4u + ng${q}]`)};`);
  } else {
    w.line(`let ${x}row = ${base} + ${k} * ${op.outer};`);
    for (let q = 0; q < groups; q++) {
      const cols = [0, 1, 2, 3].map((r) => `${array}[${x}row + n${q}_${r}]`).join(', ');
      w.line(`let ${x}${q} = ${scaled(op, `vec4<f32>(${cols})`)};`);
    }
  }
  return (q) => `${x}${q}`;
}

function emitFmas(w: Lines, c: MatmulConfig, depth: number, left: (i: number, kk: number) => string, right: (q: number, kk: number) => string): void {
  // Each accumulator takes all of its k at once: it is touched once per step, which matters
  // when the tile is larger than the register file (it then lives on the stack).
  for (let i = 0; i < c.tileM; i++) {
    for (let q = 0; q < c.tileN / 4; q++) {
      for (let kk = 0; kk < depth; kk++) w.line(`acc${i}_${q} = fma(vec4<f32>(${left(i, kk)}), ${right(q, kk)}, acc${i}_${q});`);
    }
  }
}

/** Loads for `depth` (a multiple of 4) consecutive k from k, then the multiply-adds. */
function emitStep(w: Lines, c: MatmulConfig, left: Operand, right: Operand, k: string, depth: number): void {
  const lefts: Array<(i: number, kk: number) => string> = [];
  const rights: Array<(q: number, kk: number) => string> = [];
  for (let s = 0; s < depth; s += 4) {
    // Sub-steps after the first get their own names: a4_0 is row 0 of A at k + 4.
    const tag = (prefix: string) => (s === 0 ? prefix : `${prefix}${s}_`);
    lefts.push(loadLeft4(w, { ...left, prefix: tag(left.prefix) }, c, plus(k, s)));
    rights.push(loadRight4(w, { ...right, prefix: tag(right.prefix) }, c, plus(k, s)));
  }
  emitFmas(w, c, depth, (i, kk) => lefts[kk >> 2]!(i, kk & 3), (q, kk) => rights[kk >> 2]!(q, kk & 3));
}

/** The loop over one inner dimension: tileK-deep steps, then 4-deep, then single k if needed. */
function emitProduct(w: Lines, c: MatmulConfig, left: Operand, right: Operand, size: string, k: string): void {
  // vec4 loads along K exist only when K is a multiple of 4, so then no single-k tail is needed.
  const tail = !((left.alongK && left.vec) || (right.alongK && right.vec));
  w.line(`var ${k} = 0u;`);
  w.block(`for (; ${k} + ${u(c.tileK)} <= ${size}; ${k} += ${u(c.tileK)}) {`, () => emitStep(w, c, left, right, k, c.tileK));
  if (c.tileK > 4) w.block(`for (; ${k} + 4u <= ${size}; ${k} += 4u) {`, () => emitStep(w, c, left, right, k, 4));
  if (tail) {
    w.block(`for (; ${k} < ${size}; ${k}++) {`, () => {
      const l = loadLeft1(w, left, c, k);
      const r = loadRight1(w, right, c, k);
      emitFmas(w, c, 1, (i) => l(i), (q) => r(q));
    });
  }
}

/**
 * The register-tiled kernel body: no workgroup memory, no barriers. Loads clamp their row and
 * column indices into range, so edge threads compute values they never store and the inner
 * loop has no branches (a branch would also put llvmpipe's loads on an even slower path).
 */
export function emitRegisterMain(w: Lines, c: MatmulConfig, v: MatmulVariant): void {
  const groups = c.tileN / 4;
  const A: Operand = { array: 'a', base: 'base_a', alongK: !v.transA, vec: v.vecA, inner: 'p.K', outer: 'p.M', prefix: 'a' };
  const B: Operand = { array: 'b', base: 'base_b', alongK: v.transB, vec: v.vecB, inner: 'p.K', outer: 'p.N', prefix: 'b' };
  const A2: Operand = { array: 'a2', base: 'base_a2', alongK: true, vec: v.vecConcat, inner: 'p.K2', outer: 'p.M', scale: 'p.concatScale', prefix: 'u' };
  const B2: Operand = { array: 'b2', base: 'base_b2', alongK: true, vec: v.vecConcat, inner: 'p.K2', outer: 'p.N', prefix: 'w' };
  if (A.vec && !A.alongK && c.tileM % 4 !== 0) throw new Error(`matmul: vec4 loads of Aᵀ need tileM to be a multiple of 4 (config has ${c.tileM})`);

  /** Column group q of this thread, parenthesised when it is a sum. */
  const group = (q: number) => (q === 0 ? 'group0' : `(group0 + ${u(q * c.workgroupX)})`);
  const needRows = A.alongK || !A.vec || v.concat;
  const needRowGroups = !A.alongK && A.vec;
  const needCols = B.alongK || !B.vec || v.concat;
  const needColGroups = !B.alongK && B.vec;

  w.line(`@compute @workgroup_size(${c.workgroupX}, ${c.workgroupY})`);
  w.block(`fn main(${ENTRY_ARGS}) {`, () => {
    emitTileIndex(w);
    if (v.concat) {
      w.line('let base_a2 = batch * p.strideA2;');
      w.line('let base_b2 = batch * p.strideB2;');
    }
    w.line(`// This thread's rows are row0 .. row0 + ${c.tileM - 1}; its columns come in groups of 4,`);
    w.line(`// group0 + ${c.workgroupX}·q for q < ${groups}, interleaved with the other x lanes.`);
    w.line(`let row0 = (tile_m * ${u(c.workgroupY)} + lid.y) * ${u(c.tileM)};`);
    w.line(`let group0 = tile_n * ${u(c.workgroupX * groups)} + lid.x;`);
    w.line('// Loads clamp indices into range; only write_group checks bounds.');
    if (needRows) for (let i = 0; i < c.tileM; i++) w.line(`let m${i} = min(${add('row0', i)}, p.M - 1u);`);
    if (needRowGroups) for (let g = 0; g < c.tileM / 4; g++) w.line(`let mg${g} = min(${add('row0 / 4u', g)}, p.M / 4u - 1u);`);
    if (needCols) {
      for (let q = 0; q < groups; q++) {
        for (let r = 0; r < 4; r++) w.line(`let n${q}_${r} = min(${add(`4u * ${group(q)}`, r)}, p.N - 1u);`);
      }
    }
    if (needColGroups) for (let q = 0; q < groups; q++) w.line(`let ng${q} = min(${add('group0', q * c.workgroupX)}, p.N / 4u - 1u);`);
    for (let i = 0; i < c.tileM; i++) {
      w.line(Array.from({ length: groups }, (_, q) => `var acc${i}_${q} = vec4<f32>();`).join(' '));
    }
    w.line(`// ${v.transA ? 'Aᵀ' : 'A'}·${v.transB ? 'Bᵀ' : 'B'} over K.`);
    emitProduct(w, c, A, B, 'p.K', 'k');
    if (v.concat) {
      w.line('// The concatenated inner dimension: + s·A2·B2ᵀ over K2, into the same accumulators.');
      emitProduct(w, c, A2, B2, 'p.K2', 'k2');
    }
    for (let i = 0; i < c.tileM; i++) {
      for (let q = 0; q < groups; q++) {
        w.line(`write_group(base_c, ${add('row0', i)}, 4u * ${group(q)}, acc${i}_${q});`);
      }
    }
  });
}
