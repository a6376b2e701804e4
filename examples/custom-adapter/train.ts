/**
 * Bring your own model and data, through the API: trains the LoHa finetune of `loha.swag` on the
 * data files next to this script (MAP, then SWAG collection), evaluates every method on the test
 * and shifted files, and predicts a data file with the SWAG posterior.
 *
 *     npx tsx examples/custom-adapter/train.ts [--out DIR] [--fresh]
 *
 * Results go to `results/` (or DIR): the report `custom-adapter.json` / `.md`, reliability plots,
 * the runs under `custom-adapter/runs/`, and `custom-adapter-predictions.csv`. Without `--fresh`,
 * runs finished earlier with the same config are reused.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, predict, train, type Prediction } from '../../experiment/api.ts';
import { type ExperimentConfig, readConfig } from '../../experiment/config.ts';
import type { ExperimentEvents } from '../../experiment/run.ts';
import { openDevice } from '../../runtime/index.ts';

export const CONFIG = fileURLToPath(new URL('config.json', import.meta.url));

export interface ExampleResult {
  /** The report as evaluate wrote it (`<out>/custom-adapter.json`). */
  report: { results: { method: string; split: string; metrics: Record<string, number> }[] };
  reportFiles: string[];
  prediction: Prediction;
  predictionsFile: string;
  /** Wall time of each part, seconds. */
  seconds: { train: number; evaluate: number; predict: number };
}

/** Progress as plain lines: stages, log lines, and every quarter of each task. */
export function printingEvents(say: (line: string) => void): Partial<ExperimentEvents> {
  const shown = new Map<string, number>();
  return {
    stage: (title) => say(`== ${title}`),
    log: (line) => say(line),
    progress: (task, done, total, detail) => {
      const quarter = Math.floor((4 * done) / total);
      if (shown.get(task) === quarter) return;
      shown.set(task, quarter);
      say(`  ${task}: ${done}/${total}${detail ? ` (${detail})` : ''}`);
    },
  };
}

/** Train, evaluate, predict `input` with SWAG, on one device. */
export async function runExample(config: ExperimentConfig, options: { input: string; fresh?: boolean; say?: (line: string) => void }): Promise<ExampleResult> {
  const say = options.say ?? (() => {});
  const events = printingEvents(say);
  const device = await openDevice();
  try {
    say(device.describe());
    let t = performance.now();
    const runs = await train({ config, device, events, ...(options.fresh ? { fresh: true } : { resume: true }) });
    const trainSeconds = (performance.now() - t) / 1000;
    say(`trained ${runs.length} runs: ${runs.map((r) => `${r.result.collected} SWAG snapshots`).join(', ')}`);

    t = performance.now();
    const { json, markdown, files } = await evaluate({ config, device, events });
    const evaluateSeconds = (performance.now() - t) / 1000;
    say(markdown);

    t = performance.now();
    const predictionsFile = join(config.out, `${config.name}-predictions.csv`);
    const prediction = await predict({ config, device, events, input: options.input, output: predictionsFile, method: 'SWAG' });
    const predictSeconds = (performance.now() - t) / 1000;
    return { report: JSON.parse(json) as ExampleResult['report'], reportFiles: files, prediction, predictionsFile, seconds: { train: trainSeconds, evaluate: evaluateSeconds, predict: predictSeconds } };
  } finally {
    device.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  const config = readConfig(CONFIG);
  if (at >= 0) {
    if (!args[at + 1]) throw new Error('--out needs a folder');
    config.out = args[at + 1]!;
  }
  const input = fileURLToPath(new URL('shift.csv', import.meta.url));
  const t = performance.now();
  const result = await runExample(config, { input, fresh: args.includes('--fresh'), say: (line) => console.log(line) });
  const p = result.prediction;
  const c = p.classes.length;
  console.log(`SWAG predictions for ${input} (first 5 of ${p.entropy.length} rows; all in ${result.predictionsFile}):`);
  for (let i = 0; i < Math.min(5, p.entropy.length); i++) {
    const probs = p.classes.map((k, j) => `${k} ${p.probabilities[i * c + j]!.toFixed(3)}`).join(', ');
    console.log(`  row ${i}: ${p.classes[p.predicted[i]!]} (${probs}; entropy ${p.entropy[i]!.toFixed(3)} nats)`);
  }
  const s = result.seconds;
  console.log(`wrote ${[...result.reportFiles, result.predictionsFile].join(', ')}`);
  console.log(`train ${s.train.toFixed(1)} s, evaluate ${s.evaluate.toFixed(1)} s, predict ${s.predict.toFixed(1)} s; ${((performance.now() - t) / 1000).toFixed(1)} s in all`);
}
