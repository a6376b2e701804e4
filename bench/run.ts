import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { openDevice } from '../runtime/index.ts';
import type { BenchResult } from './result.ts';
import { benchBma } from './bma.ts';
import { benchCompiler } from './compiler.ts';
import { benchData } from './data.ts';
import { benchIo } from './io.ts';
import { benchKernels } from './kernels.ts';
import { benchLora } from './lora.ts';
import { benchMatmul } from './matmul.ts';
import { benchPaper } from './paper.ts';
import { benchRuntime } from './runtime.ts';

/** Each suite runs on the same device in the same process, so ratios are side by side. */
const suites: Array<[string, (device: Awaited<ReturnType<typeof openDevice>>) => Promise<BenchResult[]>]> = [
  ['runtime', benchRuntime],
  ['kernels', benchKernels],
  ['matmul', benchMatmul],
  ['lora', benchLora],
  ['compiler', benchCompiler],
  ['bma', benchBma],
  ['paper', (device) => benchPaper(device, { log: (line) => process.stderr.write(`${line}\n`) })],
  ['data', benchData],
  ['io', benchIo],
];

function usage(): never {
  process.stderr.write('usage: npm run bench -- [--json PATH] [--only SUITE[,SUITE]]\n');
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let jsonPath: string | undefined;
  let only: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--json') jsonPath = args[++i] ?? usage();
    else if (args[i] === '--only') only = (args[++i] ?? usage()).split(',');
    else usage();
  }
  const device = await openDevice();
  process.stdout.write(`bench on ${device.describe()}\n\n`);
  const results: BenchResult[] = [];
  for (const [name, run] of suites) {
    if (only && !only.includes(name)) continue;
    const t0 = performance.now();
    const suiteResults = await run(device);
    for (const r of suiteResults) {
      results.push(r);
      process.stdout.write(`  ${r.name.padEnd(44)} ${r.value.toPrecision(4).padStart(12)} ${r.unit}\n`);
    }
    process.stdout.write(`  (${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  if (jsonPath) {
    mkdirSync(dirname(jsonPath), { recursive: true });
    const { limits: _limits, ...adapter } = device.report;
    writeFileSync(jsonPath, `${JSON.stringify({ adapter, results }, null, 2)}\n`);
    process.stdout.write(`\nwrote ${jsonPath}\n`);
  }
  device.destroy();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
