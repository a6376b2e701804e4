/**
 * The compiler's graph pipeline as one visible list of stages, in order (Halide's `Lower.cpp`
 * style): every stage is a function of the previous stage's result, and the graph is verified
 * after every graph pass.
 *
 *   simplify           [autodiff] → (constantFold → cse → dce)*          passes/simplify.ts
 *   splitFrozenPrefix  networks only, when asked: cut forward/backward at
 *                      the frozen prefix, then simplify each piece again   passes/splitFrozenPrefix.ts
 *   batchDraws         networks only, when asked: `drawsForward`, the
 *                      (cut) forward over S parameter draws at once, then
 *                      simplified                                          passes/batchDraws.ts
 *   fuse               FUSION_PASSES below, in order                       passes/fuse*.ts
 *   schedule           fused graph → kernel launches over logical buffers  schedule/ (calls codegen/wgsl/)
 *   planMemory         temporaries with disjoint lifetimes share slots     passes/planMemory.ts
 *   layout             schedule + memory plan → the Program (abi/)         emit/program.ts
 *
 * `dump` receives every stage's result as text, numbered in order (`NN-stage[.pass]`): the IR
 * after every graph pass, the launch list after `schedule`, the slots after `planMemory`, the
 * Program JSON after `layout`. `dumpToDirectory(dir)` writes them as files; `swaglet compile
 * --dump-ir DIR` uses it per unit and method.
 *
 * Nothing below imports this file: every arrow points down (test/layering/compiler.test.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Program } from '../abi/program.ts';
import { layoutProgram, memoryOf } from './emit/program.ts';
import { printGraph, verifyGraph, type Graph } from './ir/index.ts';
import { fuseBatchedWeightGradient } from './passes/fuseBatchedWeightGradient.ts';
import { fuseElementwise, type FuseElementwiseOptions } from './passes/fuseElementwise.ts';
import { fuseLowRankConcat } from './passes/fuseLowRankConcat.ts';
import { fuseLowRankSample } from './passes/fuseLowRankSample.ts';
import { fuseMatmulEpilogue } from './passes/fuseMatmulEpilogue.ts';
import { fuseMatmulOperandScale } from './passes/fuseMatmulOperandScale.ts';
import { fuseMatmulTranspose } from './passes/fuseMatmulTranspose.ts';
import { fuseRingBufferWrite, recognizeRingBufferWrite } from './passes/fuseRingBufferWrite.ts';
import { fuseSoftmax } from './passes/fuseSoftmax.ts';
import { planMemory, type MemoryPlan } from './passes/planMemory.ts';
import { simplify, type SimplifyOptions } from './passes/simplify.ts';
import { type CachedValue, splitFrozenPrefix } from './passes/splitFrozenPrefix.ts';
import { batchDraws, drawsPerPass } from './passes/batchDraws.ts';
import { scheduleGraph } from './schedule/schedule.ts';
import type { Schedule, ScheduleOptions } from './schedule/types.ts';

export { simplify, type SimplifyOptions } from './passes/simplify.ts';

/** Receives one stage's result as text. */
export type DumpSink = (stage: string, text: string) => void;

export interface FuseOptions extends FuseElementwiseOptions {
  /** Called with each fusion pass's name and printed IR. */
  readonly dump?: DumpSink;
  /** Verify after every pass (default true). */
  readonly verify?: boolean;
  /** Skip the matmul fusions (transposes, scales, concat, epilogue, low-rank sample): elementwise fusion only. */
  readonly matmul?: boolean;
}

interface FusionPass {
  readonly name: string;
  /** Part of the matmul fusions (`FuseOptions.matmul: false` skips it). */
  readonly matmul: boolean;
  readonly run: (g: Graph, options: FuseOptions) => Graph;
}

/**
 * The fusion stage, in order. Its result evaluates to the same outputs (up to float rounding),
 * and every fused node is one kernel for the scheduler.
 */
export const FUSION_PASSES: readonly FusionPass[] = [
  // transpose of the last two axes → matmul transA/transB
  { name: 'fuseMatmulTranspose', matmul: true, run: (g) => fuseMatmulTranspose(g) },
  // matmul(c·x, y) → fusedMatmul {alpha: c}
  { name: 'fuseMatmulOperandScale', matmul: true, run: (g) => fuseMatmulOperandScale(g) },
  // Σ_batch Aᵦᵀ·Bᵦ → one matmul with the batch folded into K
  { name: 'fuseBatchedWeightGradient', matmul: true, run: (g) => fuseBatchedWeightGradient(g) },
  // x·Wᵀ + s·(u·Bᵀ) → one matmul over [x | s·u]·[W | B]ᵀ
  { name: 'fuseLowRankConcat', matmul: true, run: (g) => fuseLowRankConcat(g) },
  // bias, row bias, scale, activation after a matmul → its epilogue
  { name: 'fuseMatmulEpilogue', matmul: true, run: (g) => fuseMatmulEpilogue(g) },
  // select(eq(iota, slot), row, ring) → writeRow(ring, row, slot)
  { name: 'recognizeRingBufferWrite', matmul: false, run: (g) => recognizeRingBufferWrite(g) },
  // elementwise chains (with broadcasts, remaps, constants) → one kernel
  { name: 'fuseElementwise', matmul: false, run: (g, o) => fuseElementwise(g, o) },
  // a row write with the elementwise producers of its row and index → one kernel
  { name: 'fuseRingBufferWrite', matmul: false, run: (g, o) => fuseRingBufferWrite(g, o) },
  // tail(c·B) with c [1, K] elementwise (SWAG's z₂ @ D) → one kernel
  { name: 'fuseLowRankSample', matmul: true, run: (g, o) => fuseLowRankSample(g, o) },
  // a softmax's elementwise producer and consumer → its row kernel
  { name: 'fuseSoftmax', matmul: false, run: (g, o) => fuseSoftmax(g, o) },
];

/** The fuse stage: FUSION_PASSES in order, each verified and dumped. */
export function fuseGraph(g: Graph, options: FuseOptions = {}): Graph {
  const verify = options.verify ?? true;
  for (const pass of FUSION_PASSES) {
    if (pass.matmul && options.matmul === false) continue;
    g = pass.run(g, options);
    if (verify) verifyGraph(g);
    options.dump?.(pass.name, printGraph(g));
  }
  return g;
}

/** The schedule as text: every buffer, then every launch with its arguments (the `schedule` dump). */
export function printSchedule(s: Schedule): string {
  const lines = s.buffers.map((b) => `buffer b${b.id} ${b.name}: ${b.dtype}[${b.shape.join(', ')}] ${b.role}`);
  s.launches.forEach((l, i) => {
    const args = l.args.map((a) => ('buffer' in a ? `b${a.buffer}` : `uniform(${a.uniform.byteLength} B)`)).join(', ');
    lines.push(`launch ${i} ${l.spec.entryPoint ?? 'main'}(${args}) workgroups [${l.workgroups.join(', ')}]  # ${l.label.replace(/\n/g, ' ')}`);
  });
  for (const o of s.outputs) lines.push(`output ${o.name} = b${o.buffer}`);
  return `${lines.join('\n')}\n`;
}

/** The memory plan as text: each slot's bytes and the buffers that share it (the `planMemory` dump). */
export function printMemoryPlan(s: Schedule, plan: MemoryPlan): string {
  return `${plan.slotBytes.map((bytes, slot) => `slot ${slot} (${bytes} B): ${s.buffers.filter((b) => plan.slotOf.get(b.id) === slot).map((b) => `b${b.id} ${b.name}`).join(', ')}`).join('\n')}\n`;
}

/** Numbers a sink's stages in the order they arrive: `00-simplify.input`, `01-simplify.constantFold`, … */
function numbered(sink: DumpSink | undefined): (stage: string) => DumpSink | undefined {
  if (!sink) return () => undefined;
  let n = 0;
  // A pass name's own number (simplify numbers its phases) gives way to this one.
  return (stage) => (pass, text) => sink(`${String(n++).padStart(2, '0')}-${[stage, pass.replace(/^\d+-/, '')].filter(Boolean).join('.')}`, text);
}

export interface CompileOptions extends ScheduleOptions {
  /** Run the fusion passes (default true); false schedules one kernel per op. */
  readonly fuse?: boolean | FuseOptions;
  /** Receives every stage's result from fuse on (see the module doc). */
  readonly dump?: DumpSink;
}

/** fuse → schedule → planMemory → layout, for one (simplified) graph. Also returns the fused graph. */
export function compileFused(g: Graph, options: CompileOptions = {}): { fused: Graph; program: Program } {
  const stage = numbered(options.dump);
  const fuse = options.fuse ?? true;
  if (fuse !== false) {
    const limits = options.limits;
    g = fuseGraph(g, {
      ...(limits ? { maxOperands: limits.maxStorageBuffersPerShaderStage - 1 } : {}),
      ...(typeof fuse === 'object' ? fuse : {}),
      ...(options.dump ? { dump: stage('fuse') } : {}),
    });
  } else {
    stage('unfused')?.('', printGraph(g));
  }
  const schedule = scheduleGraph(g, options);
  stage('schedule')?.('', printSchedule(schedule));
  const memory = memoryOf(schedule);
  const plan = planMemory(memory.buffers, memory.steps);
  stage('planMemory')?.('', printMemoryPlan(schedule, plan));
  const program = layoutProgram(schedule, plan);
  stage('layout')?.('', `${JSON.stringify(program, null, 1)}\n`);
  return { fused: g, program };
}

/** The back end: an (autodiffed, simplified) graph → a Program. */
export function compileProgram(g: Graph, options: CompileOptions = {}): Program {
  return compileFused(g, options).program;
}

/** One method through the whole pipeline. */
export interface CompiledMethod {
  /** After simplify (and splitFrozenPrefix): what fusion starts from. */
  readonly simplified: Graph;
  /** After fuse: the graph the kernels are built from. */
  readonly fused: Graph;
  readonly program: Program;
}

export interface PipelineOptions extends CompileOptions {
  /** Cut networks at their frozen prefix: adds a `prefix` method (see passes/splitFrozenPrefix.ts). */
  readonly splitFrozenPrefix?: boolean;
  /** Dumps of one method (not `dump`: dumps are per method). */
  readonly dumpMethod?: (method: string) => DumpSink | undefined;
  /** Compile `drawsForward`: the forward over `count` parameter draws at once (see passes/batchDraws.ts). */
  readonly draws?: DrawsOptions;
}

export interface DrawsOptions {
  /** The draws wanted in one pass. */
  readonly count: number;
  /**
   * The largest buffer one binding may hold (the device's maxStorageBufferBindingSize): a pass
   * takes fewer draws when one draw's largest tensor times `count` would not fit.
   */
  readonly maxBufferBytes?: number;
}

/** The network methods splitFrozenPrefix cuts, and the data inputs it cuts them at. */
const NETWORK_METHODS = ['forward', 'dropoutForward', 'backward'] as const;

/**
 * Every stage for a unit's methods (`order` lists them; `prefix` is made when the split applies):
 * simplify each → splitFrozenPrefix (networks, when asked) → simplify the pieces → fuse →
 * schedule → planMemory → layout. Throws for what the back end cannot do (a compiler limit or bug).
 */
export function compileMethods(raw: Readonly<Partial<Record<string, Graph>>>, order: readonly string[], options: PipelineOptions = {}): { methods: Record<string, CompiledMethod>; cached?: CachedValue[]; draws?: number } {
  const { dump: _perMethodOnly, dumpMethod: _dumpMethod, splitFrozenPrefix: _split, draws: _draws, ...backEnd } = options;
  const stages = new Map<string, (stage: string) => DumpSink | undefined>();
  const stageOf = (method: string) => {
    if (!stages.has(method)) stages.set(method, numbered(options.dumpMethod?.(method)));
    return stages.get(method)!;
  };
  const simplifyAs = (method: string, g: Graph) => {
    const dump = stageOf(method)('simplify');
    return simplify(g, dump ? { dump } : {});
  };

  const graphs: Record<string, Graph> = {};
  for (const m of order) if (raw[m]) graphs[m] = simplifyAs(m, raw[m]!);

  let cached: CachedValue[] | undefined;
  if (options.splitFrozenPrefix && graphs.forward) {
    const network = Object.fromEntries(NETWORK_METHODS.filter((m) => graphs[m]).map((m) => [m, graphs[m]!])) as { forward: Graph };
    const dataInputs = graphs.forward.inputs.filter((i) => i.role === 'input' && i.name !== 'seed').map((i) => i.name);
    const split = splitFrozenPrefix(network, dataInputs);
    if (split) {
      stageOf('prefix')('splitFrozenPrefix')?.('', printGraph(split.prefix));
      graphs.prefix = simplifyAs('prefix', split.prefix);
      for (const [m, g] of Object.entries(split.suffixes)) {
        stageOf(m)('splitFrozenPrefix')?.('', printGraph(g));
        graphs[m] = simplifyAs(m, g);
      }
      cached = split.cached;
    }
  }

  // After the split, so the draws forward reads the same cached prefix as forward does.
  let draws: number | undefined;
  if (options.draws && graphs.forward) {
    draws = drawsPerPass(graphs.forward, options.draws.count, options.draws.maxBufferBytes ?? Infinity);
    const batched = batchDraws(graphs.forward, draws);
    verifyGraph(batched);
    stageOf('drawsForward')('batchDraws')?.('', printGraph(batched));
    graphs.drawsForward = simplifyAs('drawsForward', batched);
  }

  const methods: Record<string, CompiledMethod> = {};
  for (const m of order) {
    if (!graphs[m]) continue;
    // The back end's stages carry on this method's numbering.
    const dump = stageOf(m)('');
    const { fused, program } = compileFused(graphs[m]!, { ...backEnd, ...(dump ? { dump } : {}) });
    methods[m] = { simplified: graphs[m]!, fused, program };
  }
  return { methods, ...(cached ? { cached } : {}), ...(draws !== undefined ? { draws } : {}) };
}

/** A dump sink writing each stage to `<dir>/<NN-stage>.ir` (`.txt` for the schedule and memory plan, `.json` for the Program). */
export function dumpToDirectory(dir: string): DumpSink {
  mkdirSync(dir, { recursive: true });
  return (stage, text) => {
    const ext = /(^|-)layout$/.test(stage) ? 'json' : /(^|-)(schedule|planMemory)$/.test(stage) ? 'txt' : 'ir';
    writeFileSync(join(dir, `${stage}.${ext}`), text);
  };
}
