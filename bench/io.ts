/**
 * Base checkpoint loading (io/baseWeights.ts): time to load a safetensors checkpoint of 8, 64 and
 * 256 MB on disk, stored as F32 and as BF16 (converted to f32 on load), 16 tensors of
 * [rows, 1024] each; and 64 MB of F32 with every tensor transposed on load (a GPT-2 Conv1D
 * checkpoint). The files are written first, so they sit in the page cache: the figures are the
 * reader's own cost (header parsing, the per-tensor reads, conversion), not the disk's.
 * `io.load.*_ms` is the median of 3 loads; `io.load.*_mbps` is MB on disk per second.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RenameTable, loadBaseWeights } from '../io/baseWeights.ts';
import { writeSafetensors, type SafetensorsDtype, type TensorInput } from '../io/safetensors.ts';
import type { Device } from '../runtime/index.ts';
import type { BenchResult } from './result.ts';

const TENSORS = 16;
const COLS = 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function writeCheckpoint(path: string, megabytes: number, dtype: SafetensorsDtype): Promise<Map<string, number[]>> {
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const rows = Math.round((megabytes * 2 ** 20) / (TENSORS * COLS * bytesPer));
  const tensors: Record<string, TensorInput> = {};
  const expected = new Map<string, number[]>();
  let s = 12345;
  for (let t = 0; t < TENSORS; t++) {
    const data = new Float32Array(rows * COLS);
    for (let i = 0; i < data.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      data[i] = s / 2 ** 32 - 0.5;
    }
    tensors[`layers.${t}.weight`] = { dtype, shape: [rows, COLS], data };
    expected.set(`layers.${t}.weight`, [rows, COLS]);
  }
  await writeSafetensors(path, tensors);
  return expected;
}

async function timeLoad(path: string, expected: Map<string, number[]>, rename?: RenameTable): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const values = await loadBaseWeights({ files: path, expected, ...(rename ? { rename } : {}) });
    times.push(performance.now() - t0);
    if (values.size !== expected.size) throw new Error('bench.io: a load returned the wrong tensors');
  }
  return median(times);
}

export async function benchIo(_device: Device): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'swaglet-bench-io-'));
  const results: BenchResult[] = [];
  try {
    for (const dtype of ['F32', 'BF16'] as const) {
      for (const mb of [8, 64, 256]) {
        const path = join(dir, `${dtype}-${mb}.safetensors`);
        const expected = await writeCheckpoint(path, mb, dtype);
        const ms = await timeLoad(path, expected);
        const name = `io.load.${dtype.toLowerCase()}_${mb}mb`;
        results.push({ name: `${name}_ms`, value: ms, unit: 'ms' }, { name: `${name}_mbps`, value: mb / (ms / 1e3), unit: 'MB/s' });
        await rm(path);
      }
    }
    // Transposed on load: [rows, 1024] stored, [1024, rows] expected.
    const path = join(dir, 'F32-64-t.safetensors');
    const stored = await writeCheckpoint(path, 64, 'F32');
    const expected = new Map([...stored].map(([k, [r, c]]) => [`t.${k}`, [c!, r!]]));
    const ms = await timeLoad(path, expected, { 'layers.{i}.weight': { to: 't.layers.{i}.weight', transpose: true } });
    results.push({ name: 'io.load.f32_64mb_transposed_ms', value: ms, unit: 'ms' }, { name: 'io.load.f32_64mb_transposed_mbps', value: 64 / (ms / 1e3), unit: 'MB/s' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
