import { type MatmulConfig, workgroupTile } from './config.ts';
import { ENTRY_ARGS, Lines, add, emitTileIndex, u } from './wgsl-common.ts';
import type { MatmulVariant } from './variant.ts';

/** How one operand of a product is staged: its accessor and which index runs fastest in memory. */
interface Staged {
  /** WGSL accessor `fn name(base, outer, k) -> f32`, zero outside the matrix. */
  load: string;
  base: string;
  /** The inner size of this product (p.K or p.K2). */
  size: string;
  /** True when consecutive memory runs along K (so staging walks K fastest). */
  alongK: boolean;
}

/** A zero-filling accessor for element (outer, k) of an operand stored along K or K-major. */
function emitAccessor(w: Lines, name: string, array: string, outer: string, size: string, alongK: boolean): void {
  const at = alongK ? `base + min(i, ${outer} - 1u) * ${size} + min(k, ${size} - 1u)` : `base + min(k, ${size} - 1u) * ${outer} + min(i, ${outer} - 1u)`;
  const layout = alongK ? `[${outer.slice(2)}, ${size.slice(2)}]` : `[${size.slice(2)}, ${outer.slice(2)}]`;
  w.line(`// Element (${outer.slice(2).toLowerCase()} = i, k) of ${array}, stored ${layout}; 0 outside it, so edge tiles need no branches.`);
  w.block(`fn ${name}(base: u32, i: u32, k: u32) -> f32 {`, () => {
    w.line(`return select(0.0, ${array}[${at}], i < ${outer} && k < ${size});`);
  });
}

/**
 * The classic shared-memory tiling for GPUs: per K tile, the workgroup stages a rows×tileK slab
 * of A and a tileK×cols slab of B in workgroup memory (zero-filled past the edges), then each
 * thread multiplies its tileM×tileN block out of it.
 */
export function emitSharedMain(w: Lines, c: MatmulConfig, v: MatmulVariant): void {
  if (v.vecA || v.vecB || v.vecConcat) throw new Error('matmul: shared-memory tiles read A and B as scalars; vecA, vecB and vecConcat must be off');
  const { rows, cols } = workgroupTile(c);
  const groups = c.tileN / 4;
  const threads = c.workgroupX * c.workgroupY;
  const TK = c.tileK;

  emitAccessor(w, 'load_a', 'a', 'p.M', 'p.K', !v.transA);
  emitAccessor(w, 'load_b', 'b', 'p.N', 'p.K', v.transB);
  if (v.concat) {
    emitAccessor(w, 'load_a2', 'a2', 'p.M', 'p.K2', true);
    emitAccessor(w, 'load_b2', 'b2', 'p.N', 'p.K2', true);
  }
  w.line();
  w.line(`// Staged K tiles: A as [${rows} rows][${TK}], B as [${TK}][${cols / 4} groups of 4 columns].`);
  w.line(`var<workgroup> tile_a: array<f32, ${rows * TK}>;`);
  w.line(`var<workgroup> tile_b: array<vec4<f32>, ${(TK * cols) / 4}>;`);
  w.line();

  const product = (A: Staged, B: Staged, k0: string, scale?: string) => {
    w.block(`for (var ${k0} = 0u; ${k0} < ${A.size}; ${k0} += ${u(TK)}) {`, () => {
      w.block(`for (var e = lin; e < ${u(rows * TK)}; e += ${u(threads)}) {`, () => {
        if (A.alongK) w.line(`let r = e / ${u(TK)}; let kk = e % ${u(TK)};`);
        else w.line(`let kk = e / ${u(rows)}; let r = e % ${u(rows)};`);
        const value = `${A.load}(${A.base}, row_base + r, ${k0} + kk)`;
        w.line(`tile_a[r * ${u(TK)} + kk] = ${scale ? `${scale} * ${value}` : value};`);
      });
      w.block(`for (var e = lin; e < ${u(TK * cols)}; e += ${u(threads)}) {`, () => {
        if (B.alongK) w.line(`let n = e / ${u(TK)}; let kk = e % ${u(TK)};`);
        else w.line(`let kk = e / ${u(cols)}; let n = e % ${u(cols)};`);
        w.line(`tile_b[kk * ${u(cols / 4)} + n / 4u][n % 4u] = ${B.load}(${B.base}, col_base + n, ${k0} + kk);`);
      });
      w.line('workgroupBarrier();');
      w.block(`for (var kk = 0u; kk < ${u(TK)}; kk++) {`, () => {
        for (let i = 0; i < c.tileM; i++) w.line(`let a${i} = tile_a[${i === 0 ? 'local_row' : `(local_row + ${u(i)})`} * ${u(TK)} + kk];`);
        for (let q = 0; q < groups; q++) w.line(`let b${q} = tile_b[kk * ${u(cols / 4)} + ${add('lid.x', q * c.workgroupX)}];`);
        for (let i = 0; i < c.tileM; i++) {
          for (let q = 0; q < groups; q++) w.line(`acc${i}_${q} = fma(vec4<f32>(a${i}), b${q}, acc${i}_${q});`);
        }
      });
      w.line('workgroupBarrier();');
    });
  };

  w.line(`@compute @workgroup_size(${c.workgroupX}, ${c.workgroupY})`);
  w.block(`fn main(${ENTRY_ARGS}) {`, () => {
    emitTileIndex(w);
    if (v.concat) {
      w.line('let base_a2 = batch * p.strideA2;');
      w.line('let base_b2 = batch * p.strideB2;');
    }
    w.line(`let row_base = tile_m * ${u(rows)};`);
    w.line(`let col_base = tile_n * ${u(cols)};`);
    w.line(`let lin = lid.y * ${u(c.workgroupX)} + lid.x;`);
    w.line(`// This thread's rows are local_row .. local_row + ${c.tileM - 1} of the tile; its column groups are lid.x + ${c.workgroupX}·q.`);
    w.line(`let local_row = lid.y * ${u(c.tileM)};`);
    for (let i = 0; i < c.tileM; i++) {
      w.line(Array.from({ length: groups }, (_, q) => `var acc${i}_${q} = vec4<f32>();`).join(' '));
    }
    product({ load: 'load_a', base: 'base_a', size: 'p.K', alongK: !v.transA }, { load: 'load_b', base: 'base_b', size: 'p.K', alongK: v.transB }, 'k0');
    if (v.concat) {
      w.line('// The concatenated inner dimension: + s·A2·B2ᵀ over K2, into the same accumulators.');
      product({ load: 'load_a2', base: 'base_a2', size: 'p.K2', alongK: true }, { load: 'load_b2', base: 'base_b2', size: 'p.K2', alongK: true }, 'k2', 'p.concatScale');
    }
    for (let i = 0; i < c.tileM; i++) {
      for (let q = 0; q < groups; q++) {
        w.line(`write_group(base_c, ${add('row_base + local_row', i)}, col_base + 4u * ${q === 0 ? 'lid.x' : `(lid.x + ${u(q * c.workgroupX)})`}, acc${i}_${q});`);
      }
    }
  });
}
