/**
 * The Program format: what the compiler hands the runtime, as plain JSON-able data. Shared by
 * both (the compiler writes it, the runtime runs it), so it imports neither.
 */
import type { KernelSpec } from './kernel.ts';

export const PROGRAM_FORMAT = 'swaglet.program/1';

/** What a buffer is for; only `temp` buffers share memory. */
export type BufferRole = 'input' | 'param' | 'frozen' | 'state' | 'output' | 'constant' | 'temp';

export interface ProgramBuffer {
  id: number;
  name: string;
  shape: number[];
  dtype: 'f32' | 'i32';
  role: BufferRole;
  /** Index into `slots`: the allocation this buffer lives in. */
  slot: number;
  /** Contents of a constant buffer, written once at load. */
  init?: number[];
}

/** A storage binding (a buffer id) or uniform bytes (base64). */
export type ProgramArg = number | { uniform: string };

export interface ProgramStep {
  kernel: number;
  args: ProgramArg[];
  workgroups: [number, number, number];
  label: string;
}

export interface ProgramOutput {
  name: string;
  buffer: number;
  shape: number[];
  dtype: 'f32' | 'i32';
}

export interface Program {
  format: typeof PROGRAM_FORMAT;
  buffers: ProgramBuffer[];
  /** Bytes of each allocation. */
  slots: number[];
  kernels: KernelSpec[];
  steps: ProgramStep[];
  outputs: ProgramOutput[];
}
