/** One field of a kernel's uniform block. */
export type ParamField = { u32: number } | { i32: number } | { f32: number };

/**
 * Packs uniform fields in order, 4 bytes each, padded to 16 bytes. The WGSL struct must
 * declare the same fields, in the same order, all scalar (u32/i32/f32), so offsets agree.
 */
export function packParams(fields: readonly ParamField[]): Uint8Array {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  fields.forEach((field, i) => {
    if ('u32' in field) view.setUint32(i * 4, field.u32 >>> 0, true);
    else if ('i32' in field) view.setInt32(i * 4, field.i32 | 0, true);
    else view.setFloat32(i * 4, field.f32, true);
  });
  return new Uint8Array(bytes);
}

/**
 * WGSL: the flat workgroup index of a grid folded by the runtime's `foldGrid`
 * (x + y·nx + z·nx·ny). Kernels call `flat_workgroup(wid, nwg)` and bound-check the result.
 */
export const FLAT_WORKGROUP_WGSL = /* wgsl */ `
fn flat_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}`;
