/**
 * What a run leaves for other tools: its MAP and SWA-mean adapters in Hugging Face PEFT's layout
 * (a PEFT user loads them with `PeftModel.from_pretrained`, module names being the `.swag`
 * model's layer paths), and the SWAG statistics in a safetensors file of their own.
 *
 * LoRA-family attachments (`A` [r, in], `B` [out, r], DoRA's `magnitude`) map onto PEFT's LoRA
 * keys; the model's own trainable tensors (a classification head) become `modules_to_save`.
 * An adapter PEFT has no layout for (VeRA, custom variants) is skipped with a note.
 */
import { join } from 'node:path';
import { type LoraModuleWeights, type PeftAdapter, type SavedModule, writePeftAdapter } from '../io/peft.ts';
import { writeSafetensors } from '../io/safetensors.ts';
import type { Network } from '../train/network.ts';
import type { TrainedRun } from '../train/methods.ts';
import type { ExperimentConfig } from './config.ts';

/** The PEFT adapter of one parameter set; `notes` says what could not be expressed. */
export function peftAdapterOf(network: Network, params: ReadonlyMap<string, Float32Array>, baseModel: string): { adapter: PeftAdapter; notes: string[] } {
  const attachments = network.unit.compiled.network!.attachments;
  const notes: string[] = [];
  const modules: LoraModuleWeights[] = [];
  const covered = new Set<string>();
  let dropout = 0;
  let useRslora = false;
  let useDora = false;
  for (const a of attachments) {
    const A = params.get(`${a.layer}.A`);
    const B = params.get(`${a.layer}.B`);
    const r = a.dims.r;
    if (!A || !B || r === undefined || a.dims.in === undefined || a.dims.out === undefined) {
      notes.push(`${a.layer}: adapter ${a.adapter} has no LoRA A/B pair; PEFT's LoRA layout cannot hold it (its tensors are in the run's result.safetensors and swag_statistics.safetensors)`);
      // Its tensors are the adapter's, not the model's own: not modules_to_save either.
      for (const name of params.keys()) if (name.startsWith(`${a.layer}.`)) covered.add(name);
      continue;
    }
    const magnitude = params.get(`${a.layer}.magnitude`) ?? params.get(`${a.layer}.m`);
    modules.push({ module: a.layer, A, B, r, inFeatures: a.dims.in, outFeatures: a.dims.out, alpha: a.scalars.alpha ?? r, ...(magnitude ? { magnitude } : {}) });
    for (const k of ['A', 'B', 'magnitude', 'm']) covered.add(`${a.layer}.${k}`);
    dropout = Math.max(dropout, a.scalars.p ?? 0);
    if (/rs/i.test(a.adapter)) useRslora = true;
    if (magnitude) useDora = true;
  }
  // The model's own trainable tensors (`head.weight`, `head.bias`): modules_to_save.
  const saved = new Map<string, SavedModule>();
  for (const [name, data] of params) {
    if (covered.has(name)) continue;
    const dot = name.lastIndexOf('.');
    const module = dot > 0 ? name.slice(0, dot) : name;
    const entry = network.theta.entries.find((e) => e.path === name)!;
    if (!saved.has(module)) saved.set(module, { module, tensors: {} });
    saved.get(module)!.tensors[dot > 0 ? name.slice(dot + 1) : 'weight'] = { data, shape: [...entry.shape] };
  }
  const adapter: PeftAdapter = {
    baseModel,
    taskType: 'SEQ_CLS',
    modules,
    ...(saved.size ? { modulesToSave: [...saved.values()] } : {}),
    dropout,
    ...(useRslora ? { useRslora } : {}),
    ...(useDora ? { useDora } : {}),
  };
  return { adapter, notes };
}

/** Unpacks a theta vector (the SWA mean) into named parameters. */
export function thetaToParams(network: Network, theta: Float32Array): Map<string, Float32Array> {
  return new Map(network.theta.entries.map((e) => [e.path, theta.slice(e.offset, e.offset + e.size)]));
}

/** Writes `map-adapter/`, `swa-adapter/` (PEFT) and `swag_statistics.safetensors` into `dir`. */
export async function writeAdapters(network: Network, run: TrainedRun, config: ExperimentConfig, dir: string): Promise<string[]> {
  const base = `swaglet:${config.model.entry}`;
  const notes: string[] = [];
  const map = peftAdapterOf(network, run.result.map, base);
  notes.push(...map.notes);
  // No LoRA-family module at all (a custom adapter such as LoHa): no PEFT folders, only the statistics.
  const peft = map.adapter.modules.length > 0;
  if (peft) await writePeftAdapter(join(dir, 'map-adapter'), map.adapter);
  else notes.push(`no PEFT adapter folders written: PEFT's LoRA layout holds none of the adapters`);
  const mean = run.result.posterior.get('mean');
  if (mean && peft) await writePeftAdapter(join(dir, 'swa-adapter'), peftAdapterOf(network, thetaToParams(network, mean), base).adapter);
  if (run.result.posterior.size) {
    const tensors = Object.fromEntries([...run.result.posterior].map(([k, v]) => {
      // Statistics over theta are [p] or [rows, p]; others (SWAG's `filled` ring) keep their length.
      const shape = v.length === network.size || v.length % network.size !== 0 ? [v.length] : [v.length / network.size, network.size];
      return [k, { dtype: 'F32' as const, shape, data: v }];
    }));
    const layout = JSON.stringify(network.theta.entries.map((e) => ({ path: e.path, shape: e.shape, offset: e.offset })));
    await writeSafetensors(join(dir, 'swag_statistics.safetensors'), tensors, { format: 'swaglet', collected: String(run.result.collected), theta_layout: layout });
  }
  return notes;
}
