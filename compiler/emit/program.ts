/**
 * The Program: what the compiler hands the runtime, as plain JSON-able data.
 *
 *   buffers  every logical buffer: name, shape, dtype, role, and the memory slot it lives in
 *            (temporaries with disjoint lifetimes share slots; see passes/planMemory.ts)
 *   slots    bytes of each slot
 *   kernels  unique kernel specs (by WGSL and bindings); labels name the IR nodes and spans
 *   steps    launches in order: kernel index, args (a buffer id, or {uniform: base64 bytes}),
 *            workgroups (already folded to the device's per-dimension limit)
 *   outputs  graph outputs by name: buffer, shape (an output may reshape its buffer), dtype
 *
 * Byte-stable: the same graph and options give the same JSON text (no maps, no hash order).
 * This is the layout stage, the last of compiler/pipeline.ts: a schedule and its memory plan in,
 * the Program out.
 */
import type { KernelSpec } from '../../abi/kernel.ts';
import { PROGRAM_FORMAT, type Program, type ProgramStep } from '../../abi/program.ts';
import type { MemoryBuffer, MemoryPlan, MemoryStep } from '../passes/planMemory.ts';
import { launchAccess, type Schedule } from '../schedule/types.ts';

export { PROGRAM_FORMAT } from '../../abi/program.ts';
export type { Program, ProgramArg, ProgramBuffer, ProgramOutput, ProgramStep } from '../../abi/program.ts';

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** What planMemory sees of a schedule: buffer sizes (only temporaries may share) and each launch's reads and writes. */
export function memoryOf(schedule: Schedule): { buffers: MemoryBuffer[]; steps: MemoryStep[] } {
  return {
    buffers: schedule.buffers.map((b) => ({ id: b.id, bytes: 4 * b.shape.reduce((p, d) => p * d, 1), reusable: b.role === 'temp' })),
    steps: schedule.launches.map(launchAccess),
  };
}

/** Lays a schedule out as a Program, its buffers in the slots of `plan`; shared kernels deduplicated. */
export function layoutProgram(schedule: Schedule, plan: MemoryPlan): Program {
  const kernels: KernelSpec[] = [];
  const labels: string[][] = [];
  const kernelIndex = new Map<string, number>();
  const steps: ProgramStep[] = schedule.launches.map((launch) => {
    const spec = launch.spec;
    const key = `${spec.entryPoint ?? 'main'}|${spec.bindings.join(',')}|${JSON.stringify(spec.constants ?? {})}|${spec.wgsl}`;
    let k = kernelIndex.get(key);
    if (k === undefined) {
      k = kernels.push({ label: spec.label, wgsl: spec.wgsl, bindings: [...spec.bindings], ...(spec.entryPoint ? { entryPoint: spec.entryPoint } : {}), ...(spec.constants ? { constants: { ...spec.constants } } : {}) }) - 1;
      kernelIndex.set(key, k);
      labels.push([]);
    }
    if (!labels[k]!.includes(launch.label)) labels[k]!.push(launch.label);
    return {
      kernel: k,
      args: launch.args.map((a) => ('buffer' in a ? a.buffer : { uniform: base64(a.uniform) })),
      workgroups: [...launch.workgroups],
      label: launch.label,
    };
  });
  // A shared kernel names the first few nodes it runs for.
  kernels.forEach((spec, k) => {
    const names = labels[k]!;
    if (names.length > 1) spec.label = `${names.slice(0, 3).join(' | ')}${names.length > 3 ? ` | +${names.length - 3} more` : ''}`;
  });
  return {
    format: PROGRAM_FORMAT,
    buffers: schedule.buffers.map((b) => ({
      id: b.id,
      name: b.name,
      shape: [...b.shape],
      dtype: b.dtype,
      role: b.role,
      slot: plan.slotOf.get(b.id)!,
      ...(b.init ? { init: [...b.init] } : {}),
    })),
    slots: [...plan.slotBytes],
    kernels,
    steps,
    outputs: schedule.outputs.map((o) => ({ name: o.name, buffer: o.buffer, shape: [...o.shape], dtype: o.dtype })),
  };
}

/** Counts of what a program runs: steps, distinct kernels, and steps per op family. */
export function programStats(p: Program): { steps: number; kernels: number; byOp: Record<string, number> } {
  const byOp: Record<string, number> = {};
  for (const s of p.steps) {
    const op = s.label.split(/[ .]/)[0]!;
    byOp[op] = (byOp[op] ?? 0) + 1;
  }
  return { steps: p.steps.length, kernels: p.kernels.length, byOp };
}
