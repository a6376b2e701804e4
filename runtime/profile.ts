/**
 * Where GPU time goes, kernel by kernel. The GL ES path (llvmpipe) has no timestamp queries, so
 * the profile is wall time per launch: the work of interest runs once with the device recording
 * its dispatches (`Device.startRecording`), then every recorded dispatch is replayed alone,
 * `reps` times in one submit, and waited for; the cost of an empty submit-and-wait is measured
 * the same way and taken off. Replaying repeats side effects (an in-place update runs again),
 * so profile a throwaway state, never one whose values matter.
 *
 * A kernel's time in the profile is close to its time inside a batch of many dispatches, less
 * the overlap a batch allows (none on llvmpipe, whose dispatches run one after another).
 */
import type { Device, RecordedDispatch } from './device.ts';
import { Tensor } from './tensor.ts';

export interface KernelTime {
  /** The kernel's label (generated kernels name their op and tile config). */
  readonly label: string;
  /** The kernel family (`kernelFamily`). */
  readonly family: string;
  /** Milliseconds of one launch (median over the rounds). */
  readonly ms: number;
  readonly workgroups: readonly number[];
}

export interface Profile {
  readonly kernels: readonly KernelTime[];
  /** Σ of the kernels' times. */
  readonly totalMs: number;
  /** The cost of `reps` empty launches, one submit and a wait: taken off every measurement. */
  readonly syncMs: number;
  /** Dispatches not replayed (a tensor they used was released since). */
  readonly skipped: number;
}

/**
 * The family of a kernel, from its label: what the bench and `swaglet profile` group by.
 * Matmul-like kernels (tiled matmul, the fused LoRA concat, batched attention products) are
 * 'matmul'; the rest by what they compute.
 */
export function kernelFamily(label: string): string {
  // A generated kernel's label starts with its op (a group's with its first member's); a
  // hand-written kernel's with its module (`adamw.update`, `swag.collect`).
  const op = (label.trim().split(/[\s\[(]/)[0] ?? '').toLowerCase();
  if (op.startsWith('swag.')) return 'swag';
  if (op.startsWith('adamw.')) return 'optimizer';
  if (/lowrank/.test(op)) return 'lowRank';
  if (/matmul|gemm/.test(op)) return 'matmul';
  if (/softmax|crossentropy/.test(op)) return 'softmax';
  if (/norm/.test(op)) return 'norm';
  if (/^(sum|mean|max|min|prod|reduce)\b|\.pass\d|^reduce/.test(op)) return 'reduce';
  if (/gather|scatter|embedding|region|copy|concat|slice|pad|writerow|ring/.test(op)) return 'indexing';
  if (/dropout|philox|random|normal/.test(op)) return 'random';
  return 'elementwise';
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Replays each recorded dispatch alone and times it (see the module doc). */
export async function profileDispatches(device: Device, dispatches: readonly RecordedDispatch[], { reps = 3, rounds = 3 }: { reps?: number; rounds?: number } = {}): Promise<Profile> {
  // The fixed cost of a submit that runs one kernel and waits for it: an empty kernel, timed as
  // every replay is (reps launches, one submit, one wait), comes off every measurement.
  const empty = await device.kernel({ label: 'profile.empty', wgsl: '@group(0) @binding(0) var<storage, read_write> unused: array<f32>;\n@compute @workgroup_size(1)\nfn main() { }\n', bindings: ['read_write'] });
  const scratch = device.zeros([1]);
  await device.sync();
  const syncSamples: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t = performance.now();
    for (let k = 0; k < reps; k++) device.dispatch(empty, [scratch], [1]);
    await device.sync();
    syncSamples.push(performance.now() - t);
  }
  scratch.release();
  const syncMs = median(syncSamples);
  const replayable = dispatches.filter((d) => d.args.every((a) => !(a instanceof Tensor) || !a.isReleased));
  const samples: number[][] = replayable.map(() => []);
  // Warm: a replay may meet a pipeline or bind group not cached yet.
  for (const d of replayable) device.dispatch(d.kernel, d.args, d.workgroups);
  await device.sync();
  for (let r = 0; r < rounds; r++) {
    for (const [i, d] of replayable.entries()) {
      const t = performance.now();
      for (let k = 0; k < reps; k++) device.dispatch(d.kernel, d.args, d.workgroups);
      await device.sync();
      samples[i]!.push(Math.max(0, performance.now() - t - syncMs) / reps);
    }
  }
  const kernels = replayable.map((d, i) => ({ label: d.kernel.spec.label, family: kernelFamily(d.kernel.spec.label), ms: median(samples[i]!), workgroups: d.workgroups.map((w) => w ?? 1) }));
  return { kernels, totalMs: kernels.reduce((s, k) => s + k.ms, 0), syncMs, skipped: dispatches.length - replayable.length };
}

/** Records the dispatches `work` makes (it runs once, as usual), then profiles them. */
export async function profileWork(device: Device, work: () => void | Promise<void>, options: { reps?: number; rounds?: number } = {}): Promise<Profile> {
  await device.sync();
  device.startRecording();
  let recorded: RecordedDispatch[];
  try {
    await work();
    await device.sync();
  } finally {
    recorded = device.stopRecording();
  }
  return profileDispatches(device, recorded, options);
}

export interface FamilyTime {
  readonly family: string;
  readonly ms: number;
  readonly launches: number;
  readonly share: number;
}

/** Time per kernel family, largest first. */
export function byFamily(p: Profile): FamilyTime[] {
  const m = new Map<string, { ms: number; launches: number }>();
  for (const k of p.kernels) {
    const e = m.get(k.family) ?? { ms: 0, launches: 0 };
    e.ms += k.ms;
    e.launches++;
    m.set(k.family, e);
  }
  return [...m].map(([family, e]) => ({ family, ...e, share: p.totalMs > 0 ? e.ms / p.totalMs : 0 })).sort((a, b) => b.ms - a.ms);
}

/** The kernels grouped by label (one line per distinct kernel), largest total first. */
export function byKernel(p: Profile): { label: string; family: string; ms: number; launches: number; share: number }[] {
  const m = new Map<string, { family: string; ms: number; launches: number }>();
  for (const k of p.kernels) {
    const e = m.get(k.label) ?? { family: k.family, ms: 0, launches: 0 };
    e.ms += k.ms;
    e.launches++;
    m.set(k.label, e);
  }
  return [...m].map(([label, e]) => ({ label, ...e, share: p.totalMs > 0 ? e.ms / p.totalMs : 0 })).sort((a, b) => b.ms - a.ms);
}

/** A label cut to its first member and its tile config, file paths to their base names. */
export function shortLabel(label: string, max = 100): string {
  const flat = label.replace(/\n/g, ' ').replace(/(?:[^\s@|]*\/)([^/\s]+\.swag)/g, '$1');
  const parts = flat.split(' | ');
  const config = /\[[^\]]*\]\s*$/.exec(flat)?.[0] ?? '';
  let head = parts[0]!.replace(/\s*\[[^\]]*\]\s*$/, '');
  if (parts.length > 1) head += ` (+${parts.length - 1})`;
  const text = config ? `${head} ${config}` : head;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The profile as a Markdown table: families, then the top `top` kernels. */
export function formatProfile(p: Profile, { top = 15, title = 'profile' }: { top?: number; title?: string } = {}): string {
  const lines = [`## ${title}`, '', `${p.kernels.length} launches, Σ ${p.totalMs.toFixed(2)} ms of kernel time (wall time per launch, replayed alone; an empty launch's submit-and-wait, ${p.syncMs.toFixed(3)} ms, taken off${p.skipped ? `; ${p.skipped} launches not replayable` : ''})`, ''];
  lines.push('| family | ms | launches | share |', '|---|---:|---:|---:|');
  for (const f of byFamily(p)) lines.push(`| ${f.family} | ${f.ms.toFixed(2)} | ${f.launches} | ${(100 * f.share).toFixed(1)}% |`);
  lines.push('', `| top kernels | family | ms | launches | share |`, '|---|---|---:|---:|---:|');
  for (const k of byKernel(p).slice(0, top)) lines.push(`| ${shortLabel(k.label).replace(/\|/g, '\\|')} | ${k.family} | ${k.ms.toFixed(3)} | ${k.launches} | ${(100 * k.share).toFixed(1)}% |`);
  return `${lines.join('\n')}\n`;
}
