/**
 * The GPU check's matmul figure: C = A·B at n×n (f32), the config the autotuner picks (its
 * winners kept in --autotune FILE, per adapter), the median time of 5 runs as GFLOP/s and as a
 * fraction of the chip's f32 peak, and the result checked against f64 dot products at 64 spots.
 *
 *   tsx scripts/gpu/matmul.ts [--n N] [--peak-tflops T] [--autotune FILE] [--json FILE]
 *
 * --n defaults to 4096 on a GPU and 256 on llvmpipe; --peak-tflops to 67 on an H200 (its f32
 * peak), else unset (no fraction). Exit 1 when the result is wrong.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MatmulAutotuner, configName, matmul } from '../../kernels/matmul/index.ts';
import { openDevice, timeGpu } from '../../runtime/index.ts';

const F32_PEAK_TFLOPS: Array<[RegExp, number]> = [[/H200/i, 67], [/H100/i, 67]];

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function numberFlag(name: string): number | undefined {
  const text = flag(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} wants a positive number, got '${text}'`);
  return value;
}

function randomData(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

async function main(): Promise<number> {
  const device = await openDevice();
  const description = device.describe();
  const n = numberFlag('n') ?? (device.report.isCpu ? 256 : 4096);
  const peak = numberFlag('peak-tflops') ?? F32_PEAK_TFLOPS.find(([re]) => re.test(`${device.report.description} ${device.report.device}`))?.[1];
  const autotuneFile = flag('autotune');
  process.stderr.write(`matmul n=${n} on ${description}\n`);
  const aData = randomData(n * n, 1);
  const bData = randomData(n * n, 2);
  const a = device.tensor([n, n], aData);
  const b = device.tensor([n, n], bData);
  const out = device.empty([n, n]);
  const tuner = new MatmulAutotuner(device, { samples: 2, ...(autotuneFile ? { cacheFile: autotuneFile } : {}), log: (line) => process.stderr.write(`  ${line}\n`) });
  const config = await tuner.configFor({ a, b, out });
  const t = await timeGpu(device, async () => {
    await matmul(device, { a, b, out, config });
  }, { warmup: 1, samples: 5 });
  const c = await device.read(out);
  // 64 spots against f64 dot products; f32 sums of n terms of size ≤ 1 stay well inside 1e-3·√n.
  let worst = 0;
  let s = 12345;
  for (let k = 0; k < 64; k++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const i = s % n;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % n;
    let want = 0;
    for (let q = 0; q < n; q++) want += aData[i * n + q]! * bData[q * n + j]!;
    worst = Math.max(worst, Math.abs(c[i * n + j]! - want) / Math.sqrt(n));
  }
  const gflops = (2 * n ** 3) / (t.medianMs * 1e-3) / 1e9;
  const result = {
    adapter: description,
    isCpu: device.report.isCpu,
    n,
    config: configName(config),
    median_ms: t.medianMs,
    [`matmul.gflops.n${n}`]: gflops,
    peak_tflops: peak ?? null,
    [`matmul.fraction_of_peak.n${n}`]: peak ? gflops / (peak * 1000) : null,
    checked_spots: 64,
    max_error_over_sqrt_n: worst,
    correct: worst < 1e-3,
  };
  a.release();
  b.release();
  out.release();
  device.destroy();
  const text = `${JSON.stringify(result, null, 2)}\n`;
  process.stdout.write(text);
  const json = flag('json');
  if (json) {
    mkdirSync(dirname(json), { recursive: true });
    writeFileSync(json, text);
  }
  return result.correct ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`matmul check failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
