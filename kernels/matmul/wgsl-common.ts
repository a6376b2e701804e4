import { helpersFor } from '../elementwise/ops.ts';
import { FLAT_WORKGROUP_WGSL } from '../params.ts';
import { type MatmulConfig, configName } from './config.ts';
import { MATMUL_PARAMS_WGSL } from './params.ts';
import { type MatmulVariant, bindingNames, variantKey } from './variant.ts';

/** Lines of WGSL with indentation, so generated kernels stay readable. */
export class Lines {
  private readonly out: string[] = [];
  private depth = 0;

  line(text = ''): this {
    this.out.push(text ? '  '.repeat(this.depth) + text : '');
    return this;
  }

  /** Emits `open`, the body one level deeper, then `close`. */
  block(open: string, body: () => void, close = '}'): this {
    this.line(open);
    this.depth++;
    body();
    this.depth--;
    return this.line(close);
  }

  text(): string {
    return this.out.join('\n');
  }
}

export const COMPONENTS = ['x', 'y', 'z', 'w'] as const;

export const u = (n: number): string => `${n}u`;

/** `expr + n` in WGSL, or just `expr` when n is 0 (keeps generated code free of `+ 0u`). */
export const add = (expr: string, n: number): string => (n === 0 ? expr : `${expr} + ${u(n)}`);

/** WGSL element type of each storage binding under this variant. */
function elementType(name: string, v: MatmulVariant): string {
  const vec =
    (name === 'a' && v.vecA) ||
    (name === 'b' && v.vecB) ||
    ((name === 'a2' || name === 'b2') && v.vecConcat) ||
    ((name === 'c' || name === 'bias_n') && v.vecC);
  return vec ? 'vec4<f32>' : 'f32';
}

/** Refuses activations that are not a single expression (they are pasted into the kernel). */
export function checkActivation(expr: string): void {
  if (/[;{}]|\/\/|\/\*/.test(expr)) {
    throw new Error(`matmul: the epilogue function must be one WGSL expression of v (e.g. 'max(v, 0.0)'), got '${expr}'`);
  }
}

/** The header comment, bindings, uniform and helper functions every matmul kernel starts with. */
export function emitPrelude(w: Lines, config: MatmulConfig, v: MatmulVariant): void {
  const opA = v.transA ? 'Aᵀ' : 'A';
  const opB = v.transB ? 'Bᵀ' : 'B';
  const sum = v.concat ? `(${opA}·${opB} + s·A2·B2ᵀ)` : `${opA}·${opB}`;
  const terms = [`α·${sum}`, v.beta ? 'β·C' : '', v.biasN ? 'bias_n[col]' : '', v.biasM ? 'bias_m[row]' : ''].filter(Boolean).join(' + ');
  let formula = v.scale ? `scale·(${terms})` : terms;
  if (v.activation) formula = `f(${formula}), f(v) = ${v.activation}`;
  w.line(`// swaglet matmul ${configName(config)} [${variantKey(v)}]`);
  w.line(`// C = ${formula}`);
  w.line(`// Sizes, batch strides and scalars come from the uniform: one pipeline serves every shape.`);
  w.line();
  w.line(MATMUL_PARAMS_WGSL);
  w.line();
  bindingNames(v).forEach((name, i) => {
    const access = name === 'c' ? 'read_write' : 'read';
    w.line(`@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${elementType(name, v)}>;`);
  });
  w.line(`@group(0) @binding(${bindingNames(v).length}) var<uniform> p: MatmulParams;`);
  w.line(FLAT_WORKGROUP_WGSL);
  for (const name of bindingNames(v)) {
    if (name === 'c' || name.startsWith('bias') || elementType(name, v) !== 'f32') continue;
    w.line();
    w.line(`// Four consecutive values of ${name} (a scalar array: its rows are not vec4-aligned).`);
    w.block(`fn load4_${name}(i: u32) -> vec4<f32> {`, () => {
      w.line(`return vec4<f32>(${name}[i], ${name}[i + 1u], ${name}[i + 2u], ${name}[i + 3u]);`);
    });
  }
  if (v.activation) {
    // The op helpers the activation calls (op_gelu, op_tanh, …): the same text every elementwise
    // kernel gets, from the one op → WGSL table (kernels/elementwise/ops.ts).
    for (const helper of helpersFor(v.activation)) {
      w.line();
      for (const line of helper.trim().split('\n')) w.line(line);
    }
    w.line();
    w.block('fn activation(v: f32) -> f32 {', () => w.line(`return ${v.activation};`));
  }
  w.line();
  emitWriteGroup(w, v);
}

/** `write_group`: the epilogue for the four columns col..col+3 of one row, stored where in range. */
function emitWriteGroup(w: Lines, v: MatmulVariant): void {
  w.line(`// The epilogue for columns col..col+3 of one row; only what lies inside [M, N] is written.`);
  w.block('fn write_group(base_c: u32, row: u32, col: u32, acc: vec4<f32>) {', () => {
    w.line('if (row >= p.M || col >= p.N) { return; }');
    w.line('var v = p.alpha * acc;');
    if (v.vecC) {
      w.line('let at = (base_c + row * p.N + col) / 4u;');
      if (v.beta) w.line('v += p.beta * c[at];');
      if (v.biasN) w.line('v += bias_n[col / 4u];');
    } else {
      w.line('let at = base_c + row * p.N + col;');
      if (v.beta || v.biasN) {
        if (v.beta) w.line('var old = vec4<f32>();');
        if (v.biasN) w.line('var bias = vec4<f32>();');
        w.block('for (var r = 0u; r < 4u; r++) {', () => {
          w.block('if (col + r < p.N) {', () => {
            if (v.beta) w.line('old[r] = c[at + r];');
            if (v.biasN) w.line('bias[r] = bias_n[col + r];');
          });
        });
        if (v.beta) w.line('v += p.beta * old;');
        if (v.biasN) w.line('v += bias;');
      }
    }
    if (v.biasM) w.line('v += bias_m[row];');
    if (v.scale) w.line('v *= p.scale;');
    if (v.activation) w.line('v = vec4<f32>(activation(v.x), activation(v.y), activation(v.z), activation(v.w));');
    if (v.vecC) {
      w.line('c[at] = v;');
    } else {
      w.block('for (var r = 0u; r < 4u; r++) {', () => {
        w.line('if (col + r < p.N) { c[at + r] = v[r]; }');
      });
    }
  });
}

/** The entry point's opening: which output tile and batch entry this workgroup owns. */
export function emitTileIndex(w: Lines): void {
  w.line('let tile = flat_workgroup(wid, nwg);');
  w.line('if (tile >= p.tilesN * p.tilesM * p.batch) { return; }');
  w.line('let tile_n = tile % p.tilesN;');
  w.line('let tile_m = (tile / p.tilesN) % p.tilesM;');
  w.line('let batch = tile / (p.tilesN * p.tilesM);');
  w.line('let base_a = batch * p.strideA;');
  w.line('let base_b = batch * p.strideB;');
  w.line('let base_c = batch * p.strideC;');
}

export const ENTRY_ARGS =
  '@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>';
