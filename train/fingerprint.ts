/**
 * A run's fingerprint: what it was trained with, as flat `field → value` pairs (the training
 * config, the data, the source of the finetune). A checkpoint records it; resuming with a
 * different one is refused, naming every field that differs, because continuing a run under
 * another config yields a result that matches neither.
 */
import type { TrainConfig } from './trainer.ts';

export type Fingerprint = Record<string, string | number | boolean | null>;

export class ResumeMismatchError extends Error {
  override name = 'ResumeMismatchError';
  constructor(
    readonly where: string,
    readonly differences: readonly string[],
  ) {
    super(`${where} was trained with a different config (${differences.join('; ')}); resuming it would mix two configs`);
  }
}

/** Nested plain objects as dotted keys: `{swag: {lr: 1}}` → `{'swag.lr': 1}`. */
export function flattenFingerprint(value: Record<string, unknown>, prefix = ''): Fingerprint {
  const out: Fingerprint = {};
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenFingerprint(v as Record<string, unknown>, key));
    else if (v === undefined) continue;
    else out[key] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * Everything a training run's numbers depend on: its config (as `train.*`), the number of
 * examples and the batch size, and what the caller adds (the data's hash, the finetune's source).
 */
export function trainingFingerprint(config: TrainConfig, examples: number, batch: number, extra: Fingerprint = {}): Fingerprint {
  return { ...flattenFingerprint({ train: config as unknown as Record<string, unknown> }), examples, batch, ...extra };
}

/** `field: saved → now` for every field whose value differs (a missing one shows as `(none)`). */
export function diffFingerprints(saved: Fingerprint, now: Fingerprint): string[] {
  const show = (v: unknown) => (v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort();
  return keys.filter((k) => saved[k] !== now[k]).map((k) => `${k}: ${show(saved[k])} → ${show(now[k])}`);
}
