/**
 * The driver: one `.swag` file in, everything `swaglet compile` writes out.
 *
 *     const r = compileSwag(text, 'examples/lora.swag', { dims: { r: 4 }, target: 'cpu' });
 *     if (!r.ok) for (const d of r.diagnostics) process.stderr.write(d);
 *     else { r.units[0].methods.forward; r.bindings; r.wgsl; r.ir; r.notes }
 *
 * Stages, in order: parse + check (diagnostics as `swaglet check` prints them) → choose entries
 * (every finetune of the file; else every model; else every adapter; else every posterior; or the
 * ones `entries` names) → lower each (sizes the entry declares but leaves unbound take the
 * documented defaults in `DEFAULT_DIMS`, each reported as a note) → the stages of pipeline.ts
 * per unit (simplify → splitFrozenPrefix → batchDraws → fuse → schedule → planMemory → layout) → typed
 * bindings, WGSL files, and the readable fused IR the kernels were built from.
 *
 * Errors in the user's input come back as values (`ok: false`, formatted diagnostics), never as
 * exceptions. The output is byte-stable: the same text and options give the same bytes.
 * The compiler imports no runtime values; the live API (swaglet.ts) sits above both.
 */
import { generateBindings } from './emit/bindings.ts';
import type { Program } from './emit/program.ts';
import { printGraph, type Graph } from './ir/index.ts';
import { type LoweredLinearsPosterior, type LoweredNetwork, type LoweredPosterior, type LowerRequest, lowerProgram } from './lower/index.ts';
import type { CachedValue } from './passes/splitFrozenPrefix.ts';
import { type DrawsOptions, type DumpSink, compileMethods } from './pipeline.ts';
import type { ScheduleLimits, ScheduleOptions, Target } from './schedule/types.ts';
import { type Diagnostic, type SourceLookup, formatDiagnostic } from './syntax/diagnostic.ts';
import { checkSource } from './types/check.ts';
import { dimSymbol, evalDim } from './types/dim.ts';
import type { CheckedProgram, TypedDeclParam } from './types/typed-program.ts';

/**
 * Sizes an entry declares without binding them (no default, not given by a finetune, not in
 * `dims`) take these values, each reported as a note: `out`/`in` (an adapter's linear shape),
 * `r` (rank), `n` (rows), `b` (batch), `t` (sequence length), `p` (a posterior's parameter count).
 * Any other unbound size is an error naming it.
 */
export const DEFAULT_DIMS: Readonly<Record<string, number>> = { out: 64, in: 64, r: 8, n: 16, b: 2, t: 16, p: 64 };

export type EntryKind = 'adapter' | 'model' | 'finetune' | 'posterior';
export type MethodName = 'prefix' | 'forward' | 'dropoutForward' | 'drawsForward' | 'backward' | 'collect' | 'collectLinears' | 'sample';

/** Methods in the order units list them. */
export const METHOD_ORDER: readonly MethodName[] = ['prefix', 'forward', 'dropoutForward', 'drawsForward', 'backward', 'collect', 'collectLinears', 'sample'];

export type { DrawsOptions } from './pipeline.ts';

export interface CompileSwagOptions {
  /** Entry names (adapters, models, finetunes, posteriors); default: see the module doc. */
  entries?: readonly string[];
  /** Sizes for every chosen entry; each entry takes the names it declares. */
  dims?: Readonly<Record<string, number>>;
  /** Scalars of a posterior entry (Laplace's `prior_precision`), over its declared defaults. */
  posteriorScalars?: Readonly<Record<string, number>>;
  /** Default 'gpu'; 'cpu' for llvmpipe. */
  target?: Target;
  limits?: ScheduleLimits;
  /** Run the fusion passes (default true). */
  fuse?: boolean;
  /** Where the generated bindings import the runtime from; default 'swaglet/runtime'. */
  runtimeImport?: string;
  /** Reads imported files; without it imports are reported as unavailable. */
  readFile?: (path: string) => string | undefined;
  /** Also compile `dropoutForward`: the forward pass with the training dropout on (MC dropout). */
  dropoutForward?: boolean;
  /**
   * Cut networks at their frozen prefix (see `splitFrozenPrefix`): a `prefix` method computes the
   * per-example `cache.<k>` tensors from the data inputs, and `forward`, `dropoutForward` and
   * `backward` read those instead of recomputing the frozen layers.
   */
  splitFrozenPrefix?: boolean;
  /**
   * Also compile `drawsForward` for networks: the forward pass over several parameter draws at
   * once (posterior-averaged prediction in one launch sequence; passes/batchDraws.ts). Each
   * parameter P is an input `draws.P` [D, ...], the outputs are [D, ...], with D = `count`, or
   * fewer when one draw's largest tensor times `count` would exceed `maxBufferBytes`.
   */
  draws?: DrawsOptions;
  /**
   * Examples per `collectLinears` call for finetunes with a posterior over linears (default 1):
   * its tap inputs hold that many examples' rows stacked (see lower/lowerLinearsPosterior.ts).
   */
  linearsExamples?: number;
  /** Tuned matmul configs by shape class (see ScheduleOptions.matmulConfigs). */
  matmulConfigs?: ScheduleOptions['matmulConfigs'];
  /** Told of every tiled matmul launch's shape class (see ScheduleOptions.onMatmulClass). */
  onMatmulClass?: ScheduleOptions['onMatmulClass'];
  /** Receives every stage's result for one unit's method (see pipeline.ts), e.g. `dumpToDirectory`. */
  dump?: (unit: string, method: MethodName) => DumpSink | undefined;
}

export interface CompiledUnit {
  /** The entry's name; the generated class's name. */
  name: string;
  kind: EntryKind;
  /** Programs per method, in the order forward, backward, collect, sample (those that exist). */
  methods: Partial<Record<MethodName, Program>>;
  /** The simplified IR each program was compiled from (before fusion). */
  graphs: Partial<Record<MethodName, Graph>>;
  /** The fused IR the kernels were built from (what `--emit ir` prints). */
  fused: Partial<Record<MethodName, Graph>>;
  /** With `splitFrozenPrefix`: what `prefix` outputs and the other methods read. */
  cached?: CachedValue[];
  /** With `draws`: how many draws one `drawsForward` pass serves. */
  draws?: number;
  network?: LoweredNetwork;
  posterior?: LoweredPosterior;
  /** A finetune's posterior over linears: its statistics per tapped linear map, updated by `collectLinears`. */
  linearsPosterior?: LoweredLinearsPosterior;
  /** Every size the request bound (given or defaulted), as sent to the lowering. */
  dims: Record<string, number>;
}

export interface CompileSwagResult {
  ok: boolean;
  /** Formatted diagnostics (file:line:col, source line and caret where there is a place): `problems` as text. */
  diagnostics: string[];
  /** The same diagnostics as values, in the same order, spans kept (the one Diagnostic type of syntax/diagnostic.ts). */
  problems: Diagnostic[];
  /** `note: r unbound, using 8 (set with --dim r=N)` lines, one per defaulted size and entry. */
  notes: string[];
  units: CompiledUnit[];
  /** The generated TypeScript module ('' when not ok). */
  bindings: string;
  /** One file per kernel: `wgsl/<unit>.<method>.<k>.wgsl`. */
  wgsl: { path: string; text: string }[];
  /** Readable fused IR per unit/method: `<unit>.<method>.ir`. */
  ir: { path: string; text: string }[];
}

interface Entry {
  kind: EntryKind;
  name: string;
}

function failed(problems: Diagnostic[], sources: SourceLookup, notes: string[] = []): CompileSwagResult {
  return { ok: false, diagnostics: problems.map((d) => formatDiagnostic(d, sources)), problems, notes, units: [], bindings: '', wgsl: [], ir: [] };
}

/** A problem of the request as a whole (entries, sizes), not of a place in the source. */
const fileError = (file: string, message: string): Diagnostic => ({ severity: 'error', file, message });

function allEntries(program: CheckedProgram): Entry[] {
  return [
    ...program.finetunes.map((d) => ({ kind: 'finetune' as const, name: d.name })),
    ...program.models.map((d) => ({ kind: 'model' as const, name: d.name })),
    ...program.adapters.map((d) => ({ kind: 'adapter' as const, name: d.name })),
    ...program.posteriors.map((d) => ({ kind: 'posterior' as const, name: d.name })),
  ];
}

/** The default entries: the file's own finetunes, else models, else adapters, else posteriors. */
function defaultEntries(program: CheckedProgram, file: string): Entry[] {
  const own = <T extends { span: { file: string } }>(xs: T[]) => xs.filter((x) => x.span.file === file);
  const groups: Entry[][] = [
    own(program.finetunes).map((d) => ({ kind: 'finetune', name: d.name })),
    own(program.models).map((d) => ({ kind: 'model', name: d.name })),
    own(program.adapters).map((d) => ({ kind: 'adapter', name: d.name })),
    // A posterior over linears compiles only as part of a finetune.
    own(program.posteriors)
      .filter((d) => d.over === 'params')
      .map((d) => ({ kind: 'posterior', name: d.name })),
  ];
  return groups.find((g) => g.length > 0) ?? [];
}

const dimNames = (params: readonly TypedDeclParam[]) => params.filter((p) => p.kind === 'dim').map((p) => p.name);
const unboundParams = (params: readonly TypedDeclParam[]) => params.filter((p) => p.kind === 'dim' && p.default === undefined).map((p) => p.name);

interface Plan {
  request: LowerRequest;
  /** Names of `options.dims` this entry used. */
  used: string[];
  /** Names defaulted, with values. */
  defaulted: [string, number][];
  /** Names unbound with no default: the lowering will report them. */
  bound: Record<string, number>;
}

/** The request for one entry: the given sizes it declares, defaults for the rest it leaves open. */
function planEntry(program: CheckedProgram, entry: Entry, given: Readonly<Record<string, number>>, posteriorScalars?: Readonly<Record<string, number>>, linearsExamples?: number): Plan {
  const used: string[] = [];
  const defaulted: [string, number][] = [];
  const take = (known: readonly string[], open: readonly string[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const k of known) {
      if (given[k] !== undefined) {
        out[k] = given[k]!;
        if (!used.includes(k)) used.push(k);
      }
    }
    for (const k of open) {
      if (out[k] !== undefined || DEFAULT_DIMS[k] === undefined) continue;
      out[k] = DEFAULT_DIMS[k]!;
      defaulted.push([k, DEFAULT_DIMS[k]!]);
    }
    return out;
  };
  switch (entry.kind) {
    case 'adapter': {
      const a = program.adapters.find((x) => x.name === entry.name)!;
      const outName = dimSymbol(a.target.out) ?? 'out';
      const inName = dimSymbol(a.target.in) ?? 'in';
      const params = dimNames(a.params);
      const fnDims = (a.fns.find((f) => f.name === 'forward')?.dims ?? []).filter((d) => d !== outName && d !== inName && !params.includes(d));
      const shape = take([outName, inName], [outName, inName]);
      const dims = take([...params, ...fnDims], [...unboundParams(a.params), ...fnDims]);
      const linear = { out: shape[outName] ?? DEFAULT_DIMS.out!, in: shape[inName] ?? DEFAULT_DIMS.in! };
      return { request: { kind: 'adapter', name: a.name, linear, dims }, used, defaulted, bound: { ...shape, ...dims } };
    }
    case 'model': {
      const m = program.models.find((x) => x.name === entry.name)!;
      const params = dimNames(m.params);
      const fnDims = (m.fns.find((f) => f.name === 'forward')?.dims ?? []).filter((d) => !params.includes(d));
      const dims = take([...params, ...fnDims], [...unboundParams(m.params), ...fnDims]);
      return { request: { kind: 'model', name: m.name, dims }, used, defaulted, bound: dims };
    }
    case 'finetune': {
      const ft = program.finetunes.find((x) => x.name === entry.name)!;
      const m = program.models.find((x) => x.name === ft.model);
      const params = m ? dimNames(m.params) : [];
      const fnDims = (m?.fns.find((f) => f.name === 'forward')?.dims ?? []).filter((d) => !params.includes(d));
      const givenByFt = (name: string) => ft.dims[name] !== undefined && evalDim(ft.dims[name]!, {}) !== undefined;
      const open = [...(m ? unboundParams(m.params) : []).filter((n) => !givenByFt(n)), ...fnDims];
      const dims = take([...params, ...fnDims], open);
      const posts = [ft.posterior, ft.linearsPosterior].flatMap((u) => program.posteriors.filter((p) => p.name === u?.name));
      const postDims = take(posts.flatMap((post) => dimNames(post.params)).filter((n) => !params.includes(n) && !fnDims.includes(n)), []);
      const request: LowerRequest = { kind: 'finetune', name: ft.name, dims, ...(Object.keys(postDims).length ? { posterior: { dims: postDims } } : {}), ...(linearsExamples !== undefined && linearsExamples > 1 ? { linearsExamples } : {}) };
      return { request, used, defaulted, bound: { ...dims, ...postDims } };
    }
    case 'posterior': {
      const p = program.posteriors.find((x) => x.name === entry.name)!;
      const size = take(['p'], ['p']);
      const dims = take(dimNames(p.params), unboundParams(p.params));
      const scalars = posteriorScalars && Object.keys(posteriorScalars).length ? { scalars: { ...posteriorScalars } } : {};
      return { request: { kind: 'posterior', name: p.name, p: size.p!, dims, ...scalars }, used, defaulted, bound: { ...size, ...dims } };
    }
  }
}

function describeEntries(program: CheckedProgram): string {
  const all = allEntries(program);
  return all.length ? all.map((e) => `${e.kind} ${e.name}`).join(', ') : 'no adapters, models, finetunes or posteriors';
}

const METHOD_DOCS: Record<MethodName, string> = {
  prefix: 'the frozen prefix: the per-example `cache.<k>` tensors the other methods read',
  dropoutForward: 'the forward pass with training dropout on; `seed` (i32) picks the masks (MC dropout)',
  forward: 'the forward pass',
  drawsForward: 'the forward pass over several parameter draws at once: each parameter P is an input `draws.P` [D, ...] (slice d = draw d), every output [D, ...]',
  backward: 'the training step: the loss and its gradient wrt every parameter (`grad.<path>`)',
  collect: 'adds the current parameters (theta) to the posterior statistics',
  collectLinears: 'adds one example\'s taps of every linear map (`tap.<P>.input`, `grad.tap.<P>.output`, as `backward` returns them) to the statistics of the posterior over linears',
  sample: 'draws parameters from the posterior; `seed` (i32) picks the standard normal draws, made on the device (Philox)',
};

/** Compiles one `.swag` source text. Never throws for problems in the input. */
export function compileSwag(text: string, file = '<input>', options: CompileSwagOptions = {}): CompileSwagResult {
  const checked = checkSource(text, file, options.readFile ? { readFile: options.readFile } : {});
  const sources = (f: string) => checked.sources.get(f);
  const errors = checked.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) return failed(checked.diagnostics, sources);
  const program = checked.program;

  // Entries.
  let entries: Entry[];
  if (options.entries && options.entries.length > 0) {
    const all = allEntries(program);
    const unknown = options.entries.filter((n) => !all.some((e) => e.name === n));
    if (unknown.length) return failed(unknown.map((n) => fileError(file, `no entry named '${n}'; the file has ${describeEntries(program)}`)), sources);
    entries = [...new Set(options.entries)].map((n) => all.find((e) => e.name === n)!);
  } else {
    entries = defaultEntries(program, file);
    if (entries.length === 0) return failed([fileError(file, 'nothing to compile: the file declares no finetune, model, adapter or posterior')], sources);
  }

  // Requests.
  const given = options.dims ?? {};
  const plans = entries.map((e) => planEntry(program, e, given, options.posteriorScalars, options.linearsExamples));
  const usedAnywhere = new Set(plans.flatMap((p) => p.used));
  const stray = Object.keys(given).filter((k) => !usedAnywhere.has(k));
  if (stray.length) {
    return failed(stray.map((k) => fileError(file, `--dim ${k}: no entry compiled (${entries.map((e) => e.name).join(', ')}) has a size named ${k}`)), sources);
  }
  const notes: string[] = [];
  for (const [i, p] of plans.entries()) {
    for (const [k, v] of p.defaulted) notes.push(`note: ${entries.length > 1 ? `${entries[i]!.name}: ` : ''}${k} unbound, using ${v} (set with --dim ${k}=N)`);
  }

  // Lower, simplify, compile.
  const diagnostics: Diagnostic[] = [];
  const units: CompiledUnit[] = [];
  const backend = {
    target: options.target ?? 'gpu',
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.fuse === false ? { fuse: false } : {}),
    ...(options.matmulConfigs ? { matmulConfigs: options.matmulConfigs } : {}),
    ...(options.onMatmulClass ? { onMatmulClass: options.onMatmulClass } : {}),
  } as const;
  for (const [i, entry] of entries.entries()) {
    const plan = plans[i]!;
    const lowered = lowerProgram(program, plan.request);
    if (!lowered.ok) {
      diagnostics.push(...lowered.errors);
      continue;
    }
    const raw: Partial<Record<MethodName, Graph>> = {};
    if (lowered.network) {
      raw.forward = lowered.network.forward;
      if (options.dropoutForward) {
        const withDropout = plan.request.kind === 'posterior' ? undefined : lowerProgram(program, { ...plan.request, loss: 'none', forwardDropout: true, ...(plan.request.kind === 'finetune' ? { posterior: false } : {}) });
        if (withDropout?.ok && withDropout.network?.forwardSeed) raw.dropoutForward = withDropout.network.forward;
      }
      if (lowered.network.training) raw.backward = lowered.network.training;
    }
    if (lowered.posterior) {
      raw.collect = lowered.posterior.collect;
      raw.sample = lowered.posterior.sample;
    }
    if (lowered.linearsPosterior) raw.collectLinears = lowered.linearsPosterior.collect;
    const graphs: Partial<Record<MethodName, Graph>> = {};
    const fused: Partial<Record<MethodName, Graph>> = {};
    const methods: Partial<Record<MethodName, Program>> = {};
    let cached: CachedValue[] | undefined;
    let draws: number | undefined;
    try {
      const compiled = compileMethods(raw, METHOD_ORDER, {
        ...backend,
        ...(options.splitFrozenPrefix ? { splitFrozenPrefix: true } : {}),
        ...(options.draws && lowered.network ? { draws: options.draws } : {}),
        ...(options.dump ? { dumpMethod: (m: string) => options.dump!(entry.name, m as MethodName) } : {}),
      });
      for (const m of METHOD_ORDER) {
        const c = compiled.methods[m];
        if (!c) continue;
        graphs[m] = c.simplified;
        fused[m] = c.fused;
        methods[m] = c.program;
      }
      cached = compiled.cached;
      draws = compiled.draws;
    } catch (e) {
      // Something the back end cannot do with this program: a compiler limitation or bug, still a value.
      diagnostics.push(fileError(file, `compiling ${entry.name} failed: ${e instanceof Error ? e.message : String(e)}`));
      continue;
    }
    units.push({
      name: entry.name,
      kind: entry.kind,
      methods,
      graphs,
      fused,
      ...(cached ? { cached } : {}),
      ...(draws !== undefined ? { draws } : {}),
      ...(lowered.network ? { network: lowered.network } : {}),
      ...(lowered.posterior ? { posterior: lowered.posterior } : {}),
      ...(lowered.linearsPosterior ? { linearsPosterior: lowered.linearsPosterior } : {}),
      dims: plan.bound,
    });
  }
  if (diagnostics.length > 0) return failed(diagnostics, sources, notes);

  const runtimeImport = options.runtimeImport ?? 'swaglet/runtime';
  const bindings = generateBindings({
    source: file,
    runtimeImport,
    units: units.map((u) => ({
      name: u.name,
      doc: `${u.kind} ${u.name} from ${file}${Object.keys(u.dims).length ? ` (${Object.entries(u.dims).map(([k, v]) => `${k} = ${v}`).join(', ')})` : ''}.`,
      methods: (Object.keys(u.methods) as MethodName[]).map((m) => ({ name: m, program: u.methods[m]!, doc: `Runs ${u.name}'s \`${m}\`: ${METHOD_DOCS[m]} (${u.methods[m]!.steps.length} kernel launches, one submit).` })),
      ...(u.network ? { tensors: u.network.tensors } : {}),
    })),
  });
  const wgsl: { path: string; text: string }[] = [];
  const ir: { path: string; text: string }[] = [];
  for (const u of units) {
    for (const m of Object.keys(u.methods) as MethodName[]) {
      const p = u.methods[m]!;
      p.kernels.forEach((k, index) => {
        wgsl.push({ path: `wgsl/${u.name}.${m}.${index}.wgsl`, text: `// ${u.name}.${m} kernel ${index} of ${p.kernels.length}, from ${file}\n// ${k.label.replace(/\n/g, '\n// ')}\n${k.wgsl.endsWith('\n') ? k.wgsl : `${k.wgsl}\n`}` });
      });
      ir.push({ path: `${u.name}.${m}.ir`, text: printGraph(u.fused[m]!) });
    }
  }
  return { ok: true, diagnostics: [], problems: [], notes, units, bindings, wgsl, ir };
}

/** Every unit's IR as one readable text (what `--emit ir` prints and `<stem>.ir.txt` holds). */
export function irText(result: CompileSwagResult): string {
  return result.ir.map((f) => `# ${f.path.replace(/\.ir$/, '')}\n${f.text.endsWith('\n') ? f.text : `${f.text}\n`}`).join('\n');
}

/** Every kernel as one text (what `--emit wgsl` prints). */
export function wgslText(result: CompileSwagResult): string {
  return result.wgsl.map((f) => `// ===== ${f.path}\n${f.text}`).join('\n');
}
