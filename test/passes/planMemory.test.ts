/** planMemory: temporaries with disjoint lifetimes share slots; interface buffers never do. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/index.ts';
import { planMemory, type MemoryBuffer, type MemoryStep } from '../../compiler/passes/planMemory.ts';
import { compileProgram } from '../../compiler/pipeline.ts';
import { scheduleGraph } from '../../compiler/schedule/schedule.ts';
import { launchAccess } from '../../compiler/schedule/types.ts';

const temp = (id: number, bytes: number): MemoryBuffer => ({ id, bytes, reusable: true });
const step = (reads: number[], writes: number[]): MemoryStep => ({ reads, writes });

describe('planMemory', () => {
  it('reuses a chain\'s temporaries two apart (a step never writes what it reads)', () => {
    // in → t1 → t2 → t3 → t4 → out
    const buffers = [{ id: 0, bytes: 64, reusable: false }, temp(1, 64), temp(2, 64), temp(3, 64), temp(4, 64), { id: 5, bytes: 64, reusable: false }];
    const steps = [step([0], [1]), step([1], [2]), step([2], [3]), step([3], [4]), step([4], [5])];
    const plan = planMemory(buffers, steps);
    const slot = (id: number) => plan.slotOf.get(id)!;
    expect(slot(1)).toBe(slot(3));
    expect(slot(2)).toBe(slot(4));
    expect(slot(1)).not.toBe(slot(2));
    expect(new Set([slot(0), slot(5), slot(1), slot(2)]).size).toBe(4);
    expect(plan.slotBytes).toHaveLength(4);
  });

  it('keeps a value alive until its last reader', () => {
    const buffers = [temp(0, 16), temp(1, 16), temp(2, 16), temp(3, 16)];
    // 0 is read again at step 2, so 2 (born at step 1) cannot take its slot.
    const steps = [step([], [0]), step([0], [1]), step([0, 1], [2]), step([2], [3])];
    const plan = planMemory(buffers, steps);
    const slot = (id: number) => plan.slotOf.get(id)!;
    expect(slot(1)).not.toBe(slot(0));
    expect(slot(2)).not.toBe(slot(0));
    expect(slot(2)).not.toBe(slot(1));
    expect([slot(0), slot(1)]).toContain(slot(3));
  });

  it('fits by size: the smallest free slot that holds the buffer, else grows the largest', () => {
    const buffers = [temp(0, 100), temp(1, 400), temp(2, 90), temp(3, 1000)];
    const steps = [step([], [0, 1]), step([0, 1], []), step([], [2]), step([2], [3])];
    const plan = planMemory(buffers, steps);
    expect(plan.slotOf.get(2)).toBe(plan.slotOf.get(0));
    expect(plan.slotOf.get(3)).toBe(plan.slotOf.get(1));
    expect(plan.slotBytes).toEqual([100, 1000]);
  });

  it('on a real schedule: no launch shares a slot between what it reads and writes, interface buffers stay apart', () => {
    const b = new GraphBuilder();
    let x = b.input('x', [8, 8]);
    const w = b.param('W', [8, 8]);
    for (let i = 0; i < 6; i++) x = b.softmax(b.matmul(x, w));
    b.output('y', x);
    const g = b.build();
    const schedule = scheduleGraph(g);
    const program = compileProgram(g, { fuse: false });
    const slotOf = (id: number) => program.buffers[id]!.slot;
    for (const launch of schedule.launches) {
      const { reads, writes } = launchAccess(launch);
      for (const w2 of writes) for (const r of reads) expect(slotOf(w2)).not.toBe(slotOf(r));
    }
    const fixed = program.buffers.filter((buf) => buf.role !== 'temp').map((buf) => buf.slot);
    expect(new Set(fixed).size).toBe(fixed.length);
    expect(program.buffers.filter((buf) => buf.role === 'temp').every((buf) => !fixed.includes(buf.slot))).toBe(true);
    // 11 temporaries in a chain fit in 2 slots.
    expect(new Set(program.buffers.filter((buf) => buf.role === 'temp').map((buf) => buf.slot)).size).toBe(2);
  });
});
