/**
 * planMemory: which logical buffers may share one allocation ("slot"). A temporary lives from the
 * first step that touches it to the last; two temporaries whose lifetimes do not overlap may use
 * the same slot. Inputs, params, frozen weights, state, constants and outputs are never shared:
 * the caller reads or keeps them across runs.
 *
 * A step's outputs are placed while its operands are still live, so no kernel ever writes a
 * buffer it also reads. Slots are chosen best-fit (the smallest free slot that is big enough,
 * else the biggest free one, grown), in a fixed order, so the plan is deterministic.
 *
 * The input is plain data (buffer sizes and per-step reads/writes) so the planner knows nothing of
 * kernels; compiler/emit/program.ts feeds it a schedule.
 */

export interface MemoryBuffer {
  readonly id: number;
  readonly bytes: number;
  /** False for buffers that must keep their own memory (inputs, params, state, constants, outputs). */
  readonly reusable: boolean;
}

export interface MemoryStep {
  readonly reads: readonly number[];
  readonly writes: readonly number[];
}

export interface MemoryPlan {
  /** Slot of each buffer, by buffer id. */
  readonly slotOf: ReadonlyMap<number, number>;
  /** Bytes of each slot: the largest buffer it holds. */
  readonly slotBytes: readonly number[];
}

export function planMemory(buffers: readonly MemoryBuffer[], steps: readonly MemoryStep[]): MemoryPlan {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  steps.forEach((step, s) => {
    for (const id of [...step.reads, ...step.writes]) {
      if (!first.has(id)) first.set(id, s);
      last.set(id, s);
    }
  });

  const slotOf = new Map<number, number>();
  const slotBytes: number[] = [];
  const newSlot = (bytes: number): number => slotBytes.push(bytes) - 1;

  // Buffers that keep their own memory, and temporaries no step touches, come first, in id order.
  for (const b of buffers) if (!b.reusable || !first.has(b.id)) slotOf.set(b.id, newSlot(b.bytes));

  const temps = buffers.filter((b) => b.reusable && first.has(b.id));
  const startingAt = new Map<number, MemoryBuffer[]>();
  for (const b of temps) {
    const s = first.get(b.id)!;
    startingAt.set(s, [...(startingAt.get(s) ?? []), b]);
  }
  const endingAt = new Map<number, number[]>();
  for (const b of temps) {
    const s = last.get(b.id)!;
    endingAt.set(s, [...(endingAt.get(s) ?? []), b.id]);
  }

  const free = new Set<number>();
  steps.forEach((_, s) => {
    for (const b of startingAt.get(s) ?? []) {
      let best: number | undefined;
      for (const slot of free) {
        const size = slotBytes[slot]!;
        const bestSize = best === undefined ? undefined : slotBytes[best]!;
        const fits = size >= b.bytes;
        const bestFits = bestSize !== undefined && bestSize >= b.bytes;
        // Prefer a slot that fits (the smallest such), else the largest (least growth).
        const better = best === undefined
          || (fits && (!bestFits || size < bestSize! || (size === bestSize && slot < best)))
          || (!fits && !bestFits && (size > bestSize! || (size === bestSize && slot < best)));
        if (better) best = slot;
      }
      if (best === undefined) best = newSlot(b.bytes);
      else free.delete(best);
      slotBytes[best] = Math.max(slotBytes[best]!, b.bytes);
      slotOf.set(b.id, best);
    }
    for (const id of endingAt.get(s) ?? []) free.add(slotOf.get(id)!);
  });
  return { slotOf, slotBytes };
}
