/**
 * LoRA adapters in Hugging Face PEFT's on-disk layout, so that
 * `PeftModel.from_pretrained(base, dir)` loads what swaglet trained, and swaglet reads what PEFT saved.
 *
 * A PEFT adapter directory holds two files:
 *  - `adapter_model.safetensors`, metadata `{"format": "pt"}` (what `PeftModel.save_pretrained` passes to
 *    `safe_save_file`), with the state dict of `get_peft_model_state_dict` (peft/utils/save_and_load.py):
 *      base_model.model.<module>.lora_A.weight           [r, in]
 *      base_model.model.<module>.lora_B.weight           [out, r]
 *      base_model.model.<module>.lora_magnitude_vector   [out]   (DoRA: the key of
 *          `lora_magnitude_vector.default.weight` with ".weight" and then the adapter name removed)
 *      base_model.model.<module>.<param>                        (modules_to_save: old PEFT drops
 *          "modules_to_save." and the adapter name; ≥0.15 saves `ModulesToSaveWrapper.adapter_state_dict`
 *          under the wrapper's name — the same key either way, e.g. `base_model.model.classifier.weight`)
 *    The adapter name ("default") is removed from every key on save and re-inserted on load
 *    (docs/source/developer_guides/checkpoint.md in huggingface/peft).
 *  - `adapter_config.json`: the `LoraConfig` fields, written like PEFT's `save_pretrained`
 *    (`json.dumps(..., indent=2, sort_keys=True)`).
 *
 * Which config keys are written: PEFT < 0.13 passes the JSON to `LoraConfig(**kwargs)` and fails with
 * "unexpected keyword argument" on any key it does not know; PEFT ≥ 0.13 (huggingface/peft#2038) drops unknown
 * keys with a warning.  So we write only fields that LoraConfig has had since 0.9 (use_dora is the newest),
 * never newer ones such as `lora_bias`, `exclude_modules` or `eva_config`.
 *
 * Per-module rank/alpha: the most common r and alpha become `r`/`lora_alpha`; the other modules go into
 * `rank_pattern`/`alpha_pattern`, keyed by their full module path.  (PEFT matches pattern keys as regexes
 * against the end of the module path after a '.'; PEFT < 0.14 requires that '.', so a pattern for a top-level
 * module name without a dot is only honoured by newer PEFT.)
 */
import { mkdir, readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { writeFileAtomic } from './atomic.ts';
import { decodeSafetensors, encodeSafetensors, type DecodedTensor, type TensorInput } from './safetensors.ts';

export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
export const PEFT_CONFIG_FILE = 'adapter_config.json';
/** `PeftModel` wraps `LoraModel` (`base_model`) which wraps the user's model (`model`). */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/** PEFT's `TaskType` values. */
export const PEFT_TASK_TYPES = ['SEQ_CLS', 'SEQ_2_SEQ_LM', 'CAUSAL_LM', 'TOKEN_CLS', 'QUESTION_ANS', 'FEATURE_EXTRACTION'] as const;
export type PeftTaskType = (typeof PEFT_TASK_TYPES)[number];

/** One adapted linear layer `W: [out, in]`. */
export interface LoraModuleWeights {
  /** Module path inside the base model, e.g. `encoder.layer.0.attention.self.query`. */
  module: string;
  /** [r, in], row-major. */
  A: Float32Array;
  /** [out, r], row-major. */
  B: Float32Array;
  r: number;
  inFeatures: number;
  outFeatures: number;
  alpha: number;
  /** DoRA magnitude m: [out]. */
  magnitude?: Float32Array;
}

export interface PeftTensor {
  data: Float32Array;
  shape: number[];
}

/** A layer trained in full next to the adapter (PEFT's `modules_to_save`, e.g. a classifier head). */
export interface SavedModule {
  module: string;
  /** Parameter name within the module (`weight`, `bias`) → tensor. */
  tensors: Record<string, PeftTensor>;
}

export interface PeftAdapter {
  /** `base_model_name_or_path`: a Hub id or a local path; null when the base is not a Transformers model. */
  baseModel: string | null;
  revision?: string | null;
  taskType?: PeftTaskType | null;
  modules: LoraModuleWeights[];
  modulesToSave?: SavedModule[];
  /** `lora_dropout` (one value for the whole adapter in PEFT); default 0. */
  dropout?: number;
  /** Scaling alpha/√r instead of alpha/r. */
  useRslora?: boolean;
  /** DoRA; every module then carries `magnitude`.  Default: whether the modules carry magnitudes. */
  useDora?: boolean;
}

/** A malformed adapter directory or an adapter that cannot be written; names the file and, when known, the key. */
export class PeftFormatError extends Error {
  readonly file: string;
  readonly key: string | undefined;
  constructor(file: string, detail: string, key?: string) {
    super(`${file}${key !== undefined ? ` [${key}]` : ''}: ${detail}`);
    this.name = 'PeftFormatError';
    this.file = file;
    this.key = key;
  }
}

/** The factor PEFT multiplies B·A by. */
export function loraScaling(m: Pick<LoraModuleWeights, 'alpha' | 'r'>, useRslora = false): number {
  return useRslora ? m.alpha / Math.sqrt(m.r) : m.alpha / m.r;
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/** Most frequent value, ties broken by first appearance (so the choice is deterministic). */
function mostCommon(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0]!;
  for (const v of values) if (counts.get(v)! > counts.get(best)!) best = v;
  return best;
}

/** JSON with object keys sorted at every level and 2-space indent, like Python's `json.dumps(sort_keys=True, indent=2)`. */
function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = sort((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}

function checkWritable(adapter: PeftAdapter, file: string): boolean {
  const fail = (detail: string, key?: string): never => {
    throw new PeftFormatError(file, detail, key);
  };
  if (adapter.modules.length === 0) fail('an adapter needs at least one LoRA module');
  const useDora = adapter.useDora ?? adapter.modules.some((m) => m.magnitude !== undefined);
  const seen = new Set<string>();
  for (const m of adapter.modules) {
    const where = m.module;
    if (!/^[^.\s]+(\.[^.\s]+)*$/.test(m.module)) fail(`module path ${JSON.stringify(m.module)} is not a dotted module name`, where);
    if (seen.has(m.module)) fail('module listed twice', where);
    seen.add(m.module);
    for (const [k, v] of [['r', m.r], ['inFeatures', m.inFeatures], ['outFeatures', m.outFeatures]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) fail(`${k} = ${v} must be a positive integer`, where);
    }
    if (!Number.isFinite(m.alpha)) fail(`alpha = ${m.alpha} must be a finite number`, where);
    if (m.A.length !== m.r * m.inFeatures) fail(`A has ${m.A.length} elements, expected r×in = ${m.r}×${m.inFeatures}`, where);
    if (m.B.length !== m.outFeatures * m.r) fail(`B has ${m.B.length} elements, expected out×r = ${m.outFeatures}×${m.r}`, where);
    if (useDora && !m.magnitude) fail('useDora is set but this module has no magnitude vector', where);
    if (!useDora && m.magnitude) fail('this module has a DoRA magnitude vector but useDora is false', where);
    if (m.magnitude && m.magnitude.length !== m.outFeatures) fail(`magnitude has ${m.magnitude.length} elements, expected out = ${m.outFeatures}`, where);
  }
  for (const s of adapter.modulesToSave ?? []) {
    if (seen.has(s.module)) fail('module is both LoRA-adapted and in modulesToSave', s.module);
    seen.add(s.module);
    for (const [name, t] of Object.entries(s.tensors)) {
      if (!/^[^.\s]+$/.test(name)) fail(`parameter name ${JSON.stringify(name)} must be a single key segment`, s.module);
      const count = t.shape.reduce((a, d) => a * d, 1);
      if (count !== t.data.length) fail(`shape [${t.shape.join(', ')}] has ${count} elements but data has ${t.data.length}`, `${s.module}.${name}`);
    }
  }
  const dropout = adapter.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) fail(`dropout = ${dropout} must be in [0, 1)`);
  if (adapter.taskType != null && !(PEFT_TASK_TYPES as readonly string[]).includes(adapter.taskType)) {
    fail(`taskType ${JSON.stringify(adapter.taskType)} is not one of ${PEFT_TASK_TYPES.join(', ')}`);
  }
  return useDora;
}

/** The state dict `get_peft_model_state_dict` would produce, as safetensors inputs (F32). */
export function peftStateDict(adapter: PeftAdapter): Record<string, TensorInput> {
  const out: Record<string, TensorInput> = {};
  for (const m of adapter.modules) {
    const p = PEFT_KEY_PREFIX + m.module;
    out[`${p}.lora_A.weight`] = { dtype: 'F32', shape: [m.r, m.inFeatures], data: m.A };
    out[`${p}.lora_B.weight`] = { dtype: 'F32', shape: [m.outFeatures, m.r], data: m.B };
    if (m.magnitude) out[`${p}.lora_magnitude_vector`] = { dtype: 'F32', shape: [m.outFeatures], data: m.magnitude };
  }
  for (const s of adapter.modulesToSave ?? []) {
    for (const [name, t] of Object.entries(s.tensors)) {
      out[`${PEFT_KEY_PREFIX}${s.module}.${name}`] = { dtype: 'F32', shape: t.shape, data: t.data };
    }
  }
  return out;
}

/** The `adapter_config.json` object for `adapter` (keys sorted when serialized). */
export function peftConfig(adapter: PeftAdapter): Record<string, unknown> {
  const useDora = checkWritable(adapter, PEFT_CONFIG_FILE);
  const r = mostCommon(adapter.modules.map((m) => m.r));
  const alpha = mostCommon(adapter.modules.map((m) => m.alpha));
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const m of adapter.modules) {
    if (m.r !== r) rankPattern[m.module] = m.r;
    if (m.alpha !== alpha) alphaPattern[m.module] = m.alpha;
  }
  const toSave = adapter.modulesToSave?.map((s) => s.module) ?? [];
  return {
    alpha_pattern: alphaPattern,
    base_model_name_or_path: adapter.baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    lora_alpha: alpha,
    lora_dropout: adapter.dropout ?? 0,
    modules_to_save: toSave.length ? toSave : null,
    peft_type: 'LORA',
    r,
    rank_pattern: rankPattern,
    revision: adapter.revision ?? null,
    target_modules: adapter.modules.map((m) => m.module).sort(),
    task_type: adapter.taskType ?? null,
    use_dora: useDora,
    use_rslora: adapter.useRslora ?? false,
  };
}

/** Write `adapter_model.safetensors` and `adapter_config.json` into `dir` (created if missing), each atomically. */
export async function writePeftAdapter(dir: string, adapter: PeftAdapter): Promise<void> {
  const config = peftConfig(adapter); // validates
  const weightsPath = nodePath.join(dir, PEFT_WEIGHTS_FILE);
  const bytes = encodeSafetensors(peftStateDict(adapter), { format: 'pt' }, weightsPath);
  await mkdir(dir, { recursive: true });
  // Weights first: a crash between the two leaves no config, so PEFT refuses the directory instead of
  // pairing a new config with old weights.
  await writeFileAtomic(weightsPath, bytes);
  await writeFileAtomic(nodePath.join(dir, PEFT_CONFIG_FILE), sortedJson(config) + '\n');
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/** PEFT's pattern lookup: a key applies when the module path equals it or ends with "." + it (as a regex). */
function patternValue(pattern: Record<string, number>, module: string, file: string, field: string): number | undefined {
  for (const [key, value] of Object.entries(pattern)) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:.*\\.)?(?:${key})$`);
    } catch {
      throw new PeftFormatError(file, `${field} key ${JSON.stringify(key)} is not a valid regular expression`);
    }
    if (re.test(module)) return value;
  }
  return undefined;
}

function matchesTarget(targets: unknown, module: string): boolean {
  if (typeof targets === 'string') {
    if (targets === 'all-linear') return true;
    try {
      return new RegExp(`^(?:${targets})$`).test(module); // PEFT: re.fullmatch
    } catch {
      return false;
    }
  }
  return (targets as string[]).some((t) => module === t || module.endsWith(`.${t}`));
}

function toF32(t: DecodedTensor, file: string, key: string): Float32Array {
  if (t.data instanceof Float32Array) return t.data; // F32, F16, BF16
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  throw new PeftFormatError(file, `dtype ${t.dtype} is not a floating-point type`, key);
}

/** Read a PEFT LoRA adapter directory (as written by PEFT's `save_pretrained` or by {@link writePeftAdapter}). */
export async function readPeftAdapter(dir: string): Promise<PeftAdapter> {
  const configPath = nodePath.join(dir, PEFT_CONFIG_FILE);
  const weightsPath = nodePath.join(dir, PEFT_WEIGHTS_FILE);
  const cfgFail = (detail: string, key?: string): never => {
    throw new PeftFormatError(configPath, detail, key);
  };
  const wFail = (detail: string, key?: string): never => {
    throw new PeftFormatError(weightsPath, detail, key);
  };

  let config: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(await readFile(configPath, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return cfgFail('not a JSON object');
    config = parsed as Record<string, unknown>;
  } catch (err) {
    if (err instanceof PeftFormatError) throw err;
    return cfgFail((err as Error).message);
  }
  if (config.peft_type !== 'LORA') cfgFail(`peft_type is ${JSON.stringify(config.peft_type)}; only "LORA" adapters are supported`, 'peft_type');
  const int = (key: string): number => {
    const v = config[key];
    if (!Number.isSafeInteger(v) || (v as number) <= 0) cfgFail(`must be a positive integer, got ${JSON.stringify(v)}`, key);
    return v as number;
  };
  const num = (key: string, fallback: number): number => {
    const v = config[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) cfgFail(`must be a number, got ${JSON.stringify(v)}`, key);
    return v as number;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = config[key] ?? fallback;
    if (typeof v !== 'boolean') cfgFail(`must be true or false, got ${JSON.stringify(v)}`, key);
    return v as boolean;
  };
  const pattern = (key: string): Record<string, number> => {
    const v = config[key] ?? {};
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'number')) {
      cfgFail(`must be an object of numbers, got ${JSON.stringify(v)}`, key);
    }
    return v as Record<string, number>;
  };
  const r = int('r');
  const alpha = num('lora_alpha', 8); // LoraConfig's default lora_alpha
  const dropout = num('lora_dropout', 0);
  const useDora = bool('use_dora', false);
  const useRslora = bool('use_rslora', false);
  const rankPattern = pattern('rank_pattern');
  const alphaPattern = pattern('alpha_pattern');
  const bias = config.bias ?? 'none';
  if (bias !== 'none') cfgFail(`bias ${JSON.stringify(bias)} is not supported (only "none": base-layer biases are not part of the adapter)`, 'bias');
  const targets = config.target_modules;
  if (targets != null && typeof targets !== 'string' && !(Array.isArray(targets) && targets.every((t) => typeof t === 'string'))) {
    cfgFail(`must be a list of module names or a regex string, got ${JSON.stringify(targets)}`, 'target_modules');
  }
  const toSaveNames = config.modules_to_save ?? [];
  if (!Array.isArray(toSaveNames) || !toSaveNames.every((t) => typeof t === 'string')) {
    cfgFail(`must be a list of module names or null, got ${JSON.stringify(toSaveNames)}`, 'modules_to_save');
  }
  const base = config.base_model_name_or_path ?? null;
  if (base !== null && typeof base !== 'string') cfgFail(`must be a string or null`, 'base_model_name_or_path');
  const revision = config.revision ?? null;
  if (revision !== null && typeof revision !== 'string') cfgFail(`must be a string or null`, 'revision');
  const taskType = config.task_type ?? null;
  if (taskType !== null && !(PEFT_TASK_TYPES as readonly unknown[]).includes(taskType)) {
    cfgFail(`${JSON.stringify(taskType)} is not one of ${PEFT_TASK_TYPES.join(', ')}`, 'task_type');
  }

  let tensors: Record<string, DecodedTensor>;
  try {
    const buf = await readFile(weightsPath);
    tensors = decodeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { source: weightsPath }).tensors;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return wFail('missing (adapter_model.bin is not supported; save with safe_serialization=True)');
    throw err;
  }

  type Parts = { A?: [string, DecodedTensor]; B?: [string, DecodedTensor]; m?: [string, DecodedTensor] };
  const lora = new Map<string, Parts>();
  const saved = new Map<string, Record<string, PeftTensor>>();
  const loraSuffixes: [string, keyof Parts][] = [
    ['.lora_A.weight', 'A'],
    ['.lora_B.weight', 'B'],
    ['.lora_magnitude_vector', 'm'],
  ];
  for (const key of Object.keys(tensors).sort()) {
    const t = tensors[key]!;
    if (!key.startsWith(PEFT_KEY_PREFIX)) wFail(`key does not start with '${PEFT_KEY_PREFIX}' (not a LoRA state dict saved by PEFT)`, key);
    const rest = key.slice(PEFT_KEY_PREFIX.length);
    const suffix = loraSuffixes.find(([s]) => rest.endsWith(s));
    if (suffix) {
      const module = rest.slice(0, -suffix[0].length);
      const parts = lora.get(module) ?? {};
      parts[suffix[1]] = [key, t];
      lora.set(module, parts);
      continue;
    }
    if (/\.lora_embedding_[AB]$/.test(rest)) wFail('LoRA on embedding layers is not supported', key);
    if (/\.lora_/.test(rest)) wFail('unrecognised LoRA parameter', key);
    const dot = rest.lastIndexOf('.');
    const module = rest.slice(0, dot);
    if (dot <= 0 || !(toSaveNames as string[]).some((n) => module === n || module.endsWith(`.${n}`))) {
      wFail(`neither a LoRA parameter nor a parameter of a module in modules_to_save [${(toSaveNames as string[]).join(', ')}]`, key);
    }
    const entry = saved.get(module) ?? {};
    entry[rest.slice(dot + 1)] = { data: toF32(t, weightsPath, key), shape: t.shape };
    saved.set(module, entry);
  }

  const modules: LoraModuleWeights[] = [];
  for (const [module, parts] of lora) {
    const prefix = PEFT_KEY_PREFIX + module;
    if (!parts.A) wFail(`module '${module}' has no lora_A.weight`, `${prefix}.lora_A.weight`);
    if (!parts.B) wFail(`module '${module}' has no lora_B.weight`, `${prefix}.lora_B.weight`);
    const [aKey, a] = parts.A!;
    const [bKey, b] = parts.B!;
    const wantR = patternValue(rankPattern, module, configPath, 'rank_pattern') ?? r;
    const moduleAlpha = patternValue(alphaPattern, module, configPath, 'alpha_pattern') ?? alpha;
    if (a.shape.length !== 2) wFail(`lora_A must be 2-D [r, in], got shape [${a.shape.join(', ')}]`, aKey);
    if (b.shape.length !== 2) wFail(`lora_B must be 2-D [out, r], got shape [${b.shape.join(', ')}]`, bKey);
    const [ar, inFeatures] = a.shape as [number, number];
    const [outFeatures, br] = b.shape as [number, number];
    if (ar !== wantR) wFail(`lora_A has r = ${ar} rows but ${PEFT_CONFIG_FILE} gives r = ${wantR} for '${module}'`, aKey);
    if (br !== wantR) wFail(`lora_B has r = ${br} columns but ${PEFT_CONFIG_FILE} gives r = ${wantR} for '${module}'`, bKey);
    if (targets != null && !matchesTarget(targets, module)) wFail(`module '${module}' is not matched by target_modules ${JSON.stringify(targets)}`, aKey);
    const w: LoraModuleWeights = {
      module,
      A: toF32(a, weightsPath, aKey),
      B: toF32(b, weightsPath, bKey),
      r: wantR,
      inFeatures,
      outFeatures,
      alpha: moduleAlpha,
    };
    if (parts.m) {
      const [mKey, m] = parts.m;
      if (!useDora) wFail(`DoRA magnitude present but ${PEFT_CONFIG_FILE} has use_dora false`, mKey);
      if (m.shape.length !== 1 || m.shape[0] !== outFeatures) wFail(`lora_magnitude_vector must have shape [${outFeatures}] (out), got [${m.shape.join(', ')}]`, mKey);
      w.magnitude = toF32(m, weightsPath, mKey);
    } else if (useDora) wFail(`${PEFT_CONFIG_FILE} has use_dora true but module '${module}' has no magnitude`, `${prefix}.lora_magnitude_vector`);
    modules.push(w);
  }
  if (modules.length === 0) wFail('holds no LoRA weights (no *.lora_A.weight / *.lora_B.weight keys)');

  const adapter: PeftAdapter = {
    baseModel: base as string | null,
    revision: revision as string | null,
    taskType: taskType as PeftTaskType | null,
    modules,
    dropout,
    useRslora,
    useDora,
  };
  if (saved.size) adapter.modulesToSave = [...saved].map(([module, t]) => ({ module, tensors: t }));
  return adapter;
}

// ---------------------------------------------------------------------------
// Into a finetune's parameters
// ---------------------------------------------------------------------------

/** What peftToParameters needs of a finetune's adapted layer (a lowered network's `attachments`). */
export interface PeftAttachment {
  /** The layer path, PEFT's module name. */
  layer: string;
  /** The adapter's name in the `.swag` file (LoRA, DoRA, RsLoRA, …). */
  adapter: string;
  /** Its sizes there: `r`, `in`, `out`. */
  dims: Readonly<Record<string, number>>;
  /** Its scalars there: `alpha`, `p`. */
  scalars: Readonly<Record<string, number>>;
}

/** What it needs of a trainable tensor (a theta layout's entries). */
export interface PeftParameterEntry {
  path: string;
  shape: readonly number[];
}

/** A PEFT adapter that does not fit a finetune; `problems` lists each mismatch, naming both sides. */
export class PeftMismatchError extends Error {
  readonly problems: string[];
  constructor(problems: string[], source?: string) {
    super(`${source ? `${source}: ` : ''}the PEFT adapter does not fit the finetune:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'PeftMismatchError';
    this.problems = problems;
  }
}

export interface PeftToParametersOptions {
  /** Accept finetune parameters the adapter does not hold (they keep their initializers); default false: an error. */
  allowMissing?: boolean;
  /** Names the adapter in errors (its directory). */
  source?: string;
}

/**
 * A PEFT LoRA adapter (readPeftAdapter) as a finetune's parameters by name — `<layer>.A`,
 * `<layer>.B`, DoRA's `<layer>.magnitude` (or `.m`), and the `modules_to_save` tensors (a head) —
 * the inverse of how experiment/adapters.ts writes them. Each module's r and alpha are checked
 * against the attachment of the same layer (and rsLoRA/DoRA against the adapter's kind), every
 * shape against the theta layout; every problem goes into one PeftMismatchError. The values are
 * the adapter's arrays, so what swaglet wrote comes back bit for bit.
 */
export function peftToParameters(
  adapter: PeftAdapter,
  attachments: readonly PeftAttachment[],
  entries: readonly PeftParameterEntry[],
  options: PeftToParametersOptions = {},
): Map<string, Float32Array> {
  const problems: string[] = [];
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const out = new Map<string, Float32Array>();
  const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
  const put = (path: string, data: Float32Array, shape: readonly number[], from: string): void => {
    const e = byPath.get(path);
    if (!e) return void problems.push(`${from}: the finetune has no parameter ${path}`);
    if (shapeText(e.shape) !== shapeText(shape)) return void problems.push(`${from} is ${shapeText(shape)}, the finetune's ${path} is ${shapeText(e.shape)}`);
    if (out.has(path)) return void problems.push(`${path} is given twice (again by ${from})`);
    out.set(path, data);
  };
  const byLayer = new Map(attachments.map((a) => [a.layer, a]));
  for (const m of adapter.modules) {
    const a = byLayer.get(m.module);
    if (!a) {
      problems.push(`LoRA module ${m.module}: the finetune adapts no such layer (it adapts ${attachments.map((x) => x.layer).join(', ') || 'none'})`);
      continue;
    }
    const r = a.dims.r;
    const alpha = a.scalars.alpha ?? r;
    if (r === undefined) {
      problems.push(`LoRA module ${m.module}: the finetune's ${a.adapter} on ${a.layer} has no rank r, so it is not a LoRA-family adapter`);
      continue;
    }
    if (m.r !== r || m.alpha !== alpha) {
      problems.push(`${m.module}: the PEFT adapter has r = ${m.r}, alpha = ${m.alpha}; the finetune's ${a.adapter} there has r = ${r}, alpha = ${alpha}`);
      continue;
    }
    const rs = /rs/i.test(a.adapter);
    if ((adapter.useRslora ?? false) !== rs) {
      problems.push(`${m.module}: the PEFT adapter ${adapter.useRslora ? 'uses' : 'does not use'} rsLoRA scaling (alpha/√r); the finetune's ${a.adapter} ${rs ? 'does' : 'does not'}`);
    }
    put(`${m.module}.A`, m.A, [m.r, m.inFeatures], `${m.module}.lora_A`);
    put(`${m.module}.B`, m.B, [m.outFeatures, m.r], `${m.module}.lora_B`);
    const magnitudePath = [`${m.module}.magnitude`, `${m.module}.m`].find((p) => byPath.has(p));
    if (m.magnitude) {
      if (!magnitudePath) problems.push(`${m.module}: the PEFT adapter is DoRA (lora_magnitude_vector); the finetune's ${a.adapter} there has no magnitude parameter`);
      else put(magnitudePath, m.magnitude, [m.outFeatures], `${m.module}.lora_magnitude_vector`);
    } else if (magnitudePath) problems.push(`${m.module}: the finetune's ${a.adapter} has ${magnitudePath} (DoRA); the PEFT adapter has no lora_magnitude_vector for it`);
  }
  for (const s of adapter.modulesToSave ?? []) {
    for (const [name, t] of Object.entries(s.tensors)) {
      // The writer saves a dot-free parameter `w` as module `w`, tensor `weight`.
      const path = byPath.has(`${s.module}.${name}`) || name !== 'weight' || !byPath.has(s.module) ? `${s.module}.${name}` : s.module;
      put(path, t.data, t.shape, `modules_to_save ${s.module}.${name}`);
    }
  }
  if (!options.allowMissing) {
    const missing = entries.filter((e) => !out.has(e.path)).map((e) => `${e.path} ${shapeText(e.shape)}`);
    if (missing.length) problems.push(`not in the PEFT adapter: ${missing.join(', ')}`);
  }
  if (problems.length) throw new PeftMismatchError(problems, options.source);
  // In theta order.
  return new Map(entries.filter((e) => out.has(e.path)).map((e) => [e.path, out.get(e.path)!]));
}

/** readPeftAdapter then peftToParameters: a PEFT adapter directory as a finetune's parameters. */
export async function readPeftParameters(
  dir: string,
  attachments: readonly PeftAttachment[],
  entries: readonly PeftParameterEntry[],
  options: Omit<PeftToParametersOptions, 'source'> = {},
): Promise<Map<string, Float32Array>> {
  return peftToParameters(await readPeftAdapter(dir), attachments, entries, { ...options, source: dir });
}
