/**
 * Named sources of frozen base weights, so a config can say `"weights": "use-lite"` instead of a
 * checkpoint path. Each source returns the values by `.swag` path (what `compile()`'s and a
 * generated `create()`'s `weights` option takes, and what `initializeNetwork` loads).
 */
import { useLiteFrozenValues } from './useLite.ts';

/** Frozen values by `.swag` path. */
export type WeightSource = () => Map<string, Float32Array> | Promise<Map<string, Float32Array>>;

export const WEIGHT_SOURCES: Readonly<Record<string, WeightSource>> = {
  /** The pretrained Universal Sentence Encoder Lite (TensorFlow.js), for examples/use_lite_classifier.swag. */
  'use-lite': () => useLiteFrozenValues(),
};

/** Whether `name` is a registered source (rather than, say, a checkpoint path). */
export function isWeightSource(name: string): boolean {
  return Object.hasOwn(WEIGHT_SOURCES, name);
}

/** The values of a named source; an unknown name is an error listing the known ones. */
export async function loadWeightSource(name: string): Promise<Map<string, Float32Array>> {
  if (!isWeightSource(name)) throw new Error(`no weight source '${name}' (known: ${Object.keys(WEIGHT_SOURCES).join(', ')}; or give a .safetensors checkpoint)`);
  return WEIGHT_SOURCES[name]!();
}
