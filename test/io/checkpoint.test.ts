import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  readLatestCheckpoint,
  writeCheckpoint,
  type CheckpointFile,
  type CheckpointWritePhase,
} from '../../io/checkpoint.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swaglet-ckpt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small checkpoint whose values depend on `step`, so tests can tell checkpoints apart. */
function filesFor(step: number): CheckpointFile[] {
  return [
    { name: 'run', json: { step, loss: [1.5, 0.25] } },
    { name: 'params', tensors: { A: { data: Float32Array.from([step, -step, 0.5]), shape: [3] }, B: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] } } },
  ];
}

async function committedSteps(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('step-')).sort();
}

/** latest.json, if present, must name a folder that exists and reads back without warnings. */
async function expectLatestConsistent(): Promise<number | undefined> {
  let latest: { path: string; step: number };
  try {
    latest = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8'));
  } catch {
    return undefined;
  }
  expect((await stat(join(dir, latest.path))).isDirectory()).toBe(true);
  const warnings: string[] = [];
  const c = await readLatestCheckpoint(dir, { onWarning: (w) => warnings.push(w) });
  expect(warnings).toEqual([]);
  expect(c!.step).toBe(latest.step);
  expect(await c!.json('run')).toEqual({ step: latest.step, loss: [1.5, 0.25] });
  return latest.step;
}

describe('writeCheckpoint / readLatestCheckpoint', () => {
  it('round-trips JSON and f32, i32 and u32 tensors', async () => {
    const u32 = new Uint32Array([0, 1, 0x80000000, 0xffffffff]);
    const i32 = new Int32Array([-2147483648, -1, 7]);
    const path = await writeCheckpoint(dir, 12, [
      ...filesFor(12),
      { name: 'rng', tensors: { counters: { data: u32, shape: [2, 2] }, labels: { data: i32, shape: [3] } }, json: { seed: 42 } },
    ]);
    expect(path).toBe(join(dir, 'step-12'));
    expect(JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8'))).toMatchObject({ step: 12, path: 'step-12' });

    const c = (await readLatestCheckpoint(dir))!;
    expect(c.step).toBe(12);
    expect(c.path).toBe(path);
    expect([...c.names].sort()).toEqual(['params', 'rng', 'run']);
    expect(await c.json('run')).toEqual({ step: 12, loss: [1.5, 0.25] });
    const p = await c.tensors('params');
    expect(p.A).toEqual({ data: Float32Array.from([12, -12, 0.5]), shape: [3] });
    expect(p.B).toEqual({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] });
    const rng = await c.read('rng');
    expect(rng.json).toEqual({ seed: 42 });
    expect(rng.tensors!.counters!.data).toBeInstanceOf(Uint32Array);
    expect([...rng.tensors!.counters!.data]).toEqual([...u32]);
    expect(rng.tensors!.labels).toEqual({ data: i32, shape: [3] });
    await expect(c.read('optimizer')).rejects.toThrow(/has no file 'optimizer' \(it has: run, params, rng\)/);
    await expect(c.tensors('run')).rejects.toThrow(/holds no tensors/);
  });

  it('returns undefined when there is no checkpoint yet', async () => {
    expect(await readLatestCheckpoint(join(dir, 'nope'))).toBeUndefined();
    expect(await readLatestCheckpoint(dir)).toBeUndefined();
  });

  it('rejects bad names and shapes before writing anything', async () => {
    await expect(writeCheckpoint(dir, 1, [{ name: '../x', json: 1 }])).rejects.toThrow(CheckpointError);
    await expect(writeCheckpoint(dir, 1, [{ name: 'a', json: 1 }, { name: 'a', json: 2 }])).rejects.toThrow(/used twice/);
    await expect(writeCheckpoint(dir, 1, [{ name: 'p', tensors: { w: { data: new Float32Array(3), shape: [2, 2] } } }])).rejects.toThrow(
      /tensor 'w': shape \[2, 2\] has 4 elements but data has 3/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('ignores a crashed write: a .tmp-* folder with a truncated file and no manifest', async () => {
    await writeCheckpoint(dir, 5, filesFor(5));
    await mkdir(join(dir, '.tmp-10'));
    await writeFile(join(dir, '.tmp-10', 'params.safetensors'), new Uint8Array([64, 0, 0, 0, 0, 0, 0, 0, 123]));
    const warnings: string[] = [];
    const c = await readLatestCheckpoint(dir, { onWarning: (w) => warnings.push(w) });
    expect(c!.step).toBe(5);
    expect(warnings).toEqual([]);
    // The next write clears the leftover.
    await writeCheckpoint(dir, 10, filesFor(10));
    expect((await readdir(dir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect((await readLatestCheckpoint(dir))!.step).toBe(10);
  });

  it('keeps only the newest `keep` checkpoints (default 2)', async () => {
    for (const step of [10, 20, 30]) await writeCheckpoint(dir, step, filesFor(step));
    expect(await committedSteps()).toEqual(['step-20', 'step-30']);
    for (const step of [40, 50, 60, 70]) await writeCheckpoint(dir, step, filesFor(step), { keep: 3 });
    expect(await committedSteps()).toEqual(['step-50', 'step-60', 'step-70']);
    await writeCheckpoint(dir, 80, filesFor(80), { keep: 1 });
    expect(await committedSteps()).toEqual(['step-80']);
    expect((await readdir(dir)).sort()).toEqual(['latest.json', 'step-80']);
  });

  it('writing a step again publishes a new folder and points latest.json at it', async () => {
    await writeCheckpoint(dir, 3, filesFor(3), { keep: 3 });
    const again = await writeCheckpoint(dir, 3, [{ name: 'run', json: { step: 3, loss: [9] } }], { keep: 3 });
    expect(again).toBe(join(dir, 'step-3-1'));
    const c = (await readLatestCheckpoint(dir))!;
    expect(c.path).toBe(again);
    expect(await c.json('run')).toEqual({ step: 3, loss: [9] });
  });
});

describe('readLatestCheckpoint when latest.json names a bad checkpoint', () => {
  it('falls back to the previous checkpoint when the latest has a truncated file, and says so', async () => {
    await writeCheckpoint(dir, 1, filesFor(1));
    await writeCheckpoint(dir, 2, filesFor(2));
    await truncate(join(dir, 'step-2', 'params.safetensors'), 20);
    const warnings: string[] = [];
    const c = await readLatestCheckpoint(dir, { onWarning: (w) => warnings.push(w) });
    expect(c!.step).toBe(1);
    expect(await c!.tensors('params')).toMatchObject({ A: { data: Float32Array.from([1, -1, 0.5]) } });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/points at step 2, but .*step-2\/params\.safetensors is 20 bytes, expected \d+ \(truncated\?\); resuming from .*step-1 \(step 1\) instead/);
  });

  it('falls back when the folder is missing, and detects a changed byte by its checksum', async () => {
    await writeCheckpoint(dir, 1, filesFor(1), { keep: 3 });
    await writeCheckpoint(dir, 2, filesFor(2), { keep: 3 });
    await writeCheckpoint(dir, 3, filesFor(3), { keep: 3 });
    await rm(join(dir, 'step-3'), { recursive: true });
    const bytes = await readFile(join(dir, 'step-2', 'run.json'));
    bytes[bytes.length - 2] ^= 1; // same size, different content
    await writeFile(join(dir, 'step-2', 'run.json'), bytes);
    const warnings: string[] = [];
    const c = await readLatestCheckpoint(dir, { onWarning: (w) => warnings.push(w) });
    expect(c!.step).toBe(1);
    expect(warnings[0]).toMatch(/points at step 3, but .*step-3 does not exist; resuming from .*step-1/);
  });

  it('uses the newest complete checkpoint, with a warning, when latest.json is missing or garbage', async () => {
    // A crash during the very first checkpoint, after the rename but before latest.json existed.
    await expect(
      writeCheckpoint(dir, 4, filesFor(4), {
        onPhase: (phase) => {
          if (phase === 'renamed') throw new Error('crash');
        },
      }),
    ).rejects.toThrow('crash');
    const warnings: string[] = [];
    expect((await readLatestCheckpoint(dir, { onWarning: (w) => warnings.push(w) }))!.step).toBe(4);
    expect(warnings[0]).toMatch(/latest\.json is missing; resuming from .*step-4 \(step 4\) instead/);
    await writeFile(join(dir, 'latest.json'), '{"step": 4, "pa');
    expect((await readLatestCheckpoint(dir, { onWarning: (w) => warnings.push(w) }))!.step).toBe(4);
    expect(warnings[1]).toMatch(/latest\.json is unreadable: .*; resuming from .*step-4/);
  });

  it('throws a clear error when no complete checkpoint is left', async () => {
    await writeCheckpoint(dir, 7, filesFor(7));
    await rm(join(dir, 'step-7', 'manifest.json'));
    const err = await readLatestCheckpoint(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/no usable checkpoint in .*: .*latest\.json points at step 7, but .*step-7 has no manifest\.json, and no other complete checkpoint exists/);
  });
});

describe('crash at any point of writeCheckpoint', () => {
  const phases: CheckpointWritePhase[] = ['files-written', 'renamed', 'latest-updated', 'pruned'];

  it('latest.json always names a complete folder while a write proceeds', async () => {
    await writeCheckpoint(dir, 1, filesFor(1), { keep: 1 });
    const seen: [CheckpointWritePhase, number | undefined][] = [];
    await writeCheckpoint(dir, 2, filesFor(2), {
      keep: 1,
      onPhase: async (phase) => {
        seen.push([phase, await expectLatestConsistent()]);
      },
    });
    expect(seen).toEqual([
      ['files-written', 1],
      ['renamed', 1],
      ['latest-updated', 2],
      ['pruned', 2],
    ]);
  });

  for (const [i, crashAt] of phases.entries()) {
    it(`after a crash at '${crashAt}', resume loads a complete checkpoint and the next write succeeds`, async () => {
      await writeCheckpoint(dir, 1, filesFor(1), { keep: 1 });
      const crash = new Error('simulated crash');
      await expect(
        writeCheckpoint(dir, 2, filesFor(2), {
          keep: 1,
          onPhase: (phase) => {
            if (phase === crashAt) throw crash;
          },
        }),
      ).rejects.toBe(crash);
      // Steps before latest.json moves resume from step 1; afterwards from step 2.
      expect(await expectLatestConsistent()).toBe(i < 2 ? 1 : 2);
      if (i < 2) expect((await readLatestCheckpoint(dir))!.step).toBe(1);
      // Resuming re-runs from there and checkpoints again: the write must go through and clean up.
      await writeCheckpoint(dir, 2, filesFor(2), { keep: 1 });
      expect(await expectLatestConsistent()).toBe(2);
      expect((await readdir(dir)).filter((n) => n !== 'latest.json')).toHaveLength(1);
    });
  }
});
