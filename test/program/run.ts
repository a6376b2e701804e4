/** Compiles a model, runs it on the test device, and compares with the interpreter. */
import { evaluate, type Feed } from '../../compiler/ir/index.ts';
import { compileProgram, type CompileOptions } from '../../compiler/pipeline.ts';
import { philoxDropoutUniform, philoxNormal } from '../../compiler/codegen/wgsl/dropout.ts';
import type { ScheduleLimits, Target } from '../../compiler/schedule/types.ts';
import { loadProgram, type Device, type Program } from '../../runtime/index.ts';
import { maxRelError } from '../helpers/random.ts';
import { randomFeeds } from '../ir/randomFeeds.ts';
import type { Model } from './graphs.ts';

export function deviceOptions(device: Device, target?: Target): CompileOptions {
  return { target: target ?? (device.report.isCpu ? 'cpu' : 'gpu'), limits: device.limits as unknown as ScheduleLimits };
}

/** Runs a program once on the feeds and reads every output back. */
export async function runProgram(device: Device, program: Program, feeds: Record<string, Feed>): Promise<Record<string, Float32Array | Int32Array>> {
  const loaded = await loadProgram(device, program);
  try {
    const outs = loaded.run(feeds as Record<string, ArrayLike<number>>);
    const data: Record<string, Float32Array | Int32Array> = {};
    for (const [name, t] of Object.entries(outs)) data[name] = (await device.read(t)) as Float32Array | Int32Array;
    return data;
  } finally {
    loaded.destroy();
  }
}

/** The model's feeds for a seed, the interpreter's outputs (Philox dropout), and the GPU's. */
export async function compare(device: Device, model: Model, options: CompileOptions, seed = 1) {
  const feeds = randomFeeds(model.graph, seed, model.given, model.ranges);
  const want = evaluate(model.graph, feeds, { dropoutUniform: philoxDropoutUniform, normal: philoxNormal });
  const program = compileProgram(model.graph, options);
  const got = await runProgram(device, program, feeds);
  const errors: Record<string, number> = {};
  for (const name of Object.keys(want)) errors[name] = maxRelError(got[name]!, want[name]!);
  return { program, got, want, errors };
}
