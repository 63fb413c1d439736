/**
 * WGSL snippets shared by the WebGPU kernels (no kernel of its own lives here).
 *
 * Weight storage. Weights are stored either as f32 or as IEEE half floats ("f16 storage, f32 math"). Half
 * floats are packed two per u32 word (element 2i in the low 16 bits, 2i + 1 in the high 16 bits: exactly the
 * little-endian byte layout of a Uint16Array) and widened in the shader with `unpack2x16float`, which is core
 * WGSL: this needs no 'shader-f16' feature, works on every adapter, and the arithmetic stays f32.
 */

export type WeightDtype = 'f32' | 'f16';

/** Bytes per element of a weight stored as `dtype`. */
export function weightBytes(dtype: WeightDtype): number {
  return dtype === 'f16' ? 2 : 4;
}

/**
 * Declares a read-only scalar weight array `name` at `binding` and a loader `load_<name>(i: u32) -> f32`
 * that returns element i as f32 whatever the storage.
 */
export function wgslWeightScalar(name: string, binding: number, dtype: WeightDtype): string {
  if (dtype === 'f32') {
    return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<f32>;
fn load_${name}(i: u32) -> f32 { return ${name}[i]; }`;
  }
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<u32>; // f16 pairs
fn load_${name}(i: u32) -> f32 { return unpack2x16float(${name}[i >> 1u])[i & 1u]; }`;
}

/**
 * Declares a read-only weight array `name` read four elements at a time, with `load4_${name}(i4: u32) ->
 * vec4<f32>` returning elements 4·i4 … 4·i4 + 3 (f16: one vec2<u32> = four halves).
 */
export function wgslWeightVec4(name: string, binding: number, dtype: WeightDtype): string {
  if (dtype === 'f32') {
    return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<vec4<f32>>;
fn load4_${name}(i4: u32) -> vec4<f32> { return ${name}[i4]; }`;
  }
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<vec2<u32>>; // 4 halves per element
fn load4_${name}(i4: u32) -> vec4<f32> {
  let h = ${name}[i4];
  return vec4<f32>(unpack2x16float(h.x), unpack2x16float(h.y));
}`;
}

/**
 * Flat workgroup index for 1-D work spread over a 2-D grid (see GpuRuntime.grid): dispatches are limited
 * to 65,535 workgroups per dimension, so long row counts use y as well.
 */
export const WGSL_FLAT_WORKGROUP =
  'fn flatWorkgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }';
