/**
 * A sweep: the config's `sweep` section (config paths to lists of values) spans a grid, and each
 * point is an experiment of its own, named `<name>.<key>_<value>...`, with its own runs, results and
 * report. Points are written out as resolved configs (`<out>/<name>.sweep/<point>.json`) so that
 * workers on other machines read exactly what the submitter meant.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { ConfigError, type ExperimentConfig, validateConfig } from './config.ts';

type Json = Record<string, unknown>;

/** Sets `path` (dot-separated) in a copy of `config`; the path must exist there, or be under `model.dims`. */
function setPath(config: ExperimentConfig, path: string, value: unknown): ExperimentConfig {
  const out = structuredClone(config) as unknown as Json;
  const keys = path.split('.');
  let at: Json = out;
  for (const [i, k] of keys.entries()) {
    const last = i === keys.length - 1;
    const openTable = keys.slice(0, i).join('.') === 'model.dims';
    if (!(k in at) && !openTable) throw new ConfigError(`'sweep.${path}': the config has no field '${keys.slice(0, i + 1).join('.')}'`);
    if (last) {
      if (!openTable && at[k] !== null && typeof at[k] !== typeof value) throw new ConfigError(`'sweep.${path}': ${JSON.stringify(value)} is not a ${typeof at[k]}`);
      at[k] = value;
    } else {
      if (at[k] === null || typeof at[k] !== 'object') throw new ConfigError(`'sweep.${path}': '${keys.slice(0, i + 1).join('.')}' is not an object`);
      at = at[k] as Json;
    }
  }
  return out as unknown as ExperimentConfig;
}

const valueName = (v: unknown) => String(v).replace(/[^A-Za-z0-9_.-]/g, '_');

/** Every point of the grid, as a checked config of its own (the config itself when it has no sweep). */
export function sweepPoints(config: ExperimentConfig): ExperimentConfig[] {
  if (!config.sweep) return [config];
  let points: { config: ExperimentConfig; name: string[] }[] = [{ config: { ...config, sweep: null }, name: [] }];
  for (const [path, values] of Object.entries(config.sweep)) {
    points = points.flatMap((p) => values.map((v) => ({ config: setPath(p.config, path, v), name: [...p.name, `${path.split('.').pop()}_${valueName(v)}`] })));
  }
  return points.map((p) => {
    const c = { ...p.config, name: `${config.name}.${p.name.join('.')}` };
    try {
      return validateConfig(c);
    } catch (e) {
      throw e instanceof ConfigError ? new ConfigError(`sweep point ${c.name}: ${e.message}`) : e;
    }
  });
}

/** Writes each point's resolved config; returns their paths (what queue jobs name). */
export async function writeSweepPoints(config: ExperimentConfig, points: readonly ExperimentConfig[]): Promise<string[]> {
  const dir = join(config.out, `${config.name}.sweep`);
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (const p of points) {
    const path = join(dir, `${p.name}.json`);
    // `out` absolute: a worker started elsewhere on the shared volume writes to the same place.
    await writeFileAtomic(path, `${JSON.stringify({ ...p, out: resolve(p.out) }, null, 2)}\n`);
    paths.push(path);
  }
  return paths;
}

/** One line per point: its MAP and SWAG accuracy, NLL and ECE on the test set, from each point's report. */
export function sweepSummary(config: ExperimentConfig, reports: readonly { name: string; json: string }[]): string {
  const rows = reports.map(({ name, json }) => {
    const r = JSON.parse(json) as { results: { method: string; split: string; metrics: Record<string, number> }[] };
    const id = r.results.filter((x) => x.split.startsWith('in distribution'));
    const cell = (method: string) => {
      const m = id.find((x) => x.method === method)?.metrics;
      return m ? `${m.accuracy!.toFixed(4)} / ${m.nll!.toFixed(4)} / ${m.ece!.toFixed(4)}` : '—';
    };
    return `| ${name.slice(config.name.length + 1)} | ${cell('MAP')} | ${cell('SWAG')} | ${cell('MultiSWAG')} |`;
  });
  return `# swaglet sweep ${config.name}\n\nIn distribution, accuracy / NLL / ECE.\n\n| point | MAP | SWAG | MultiSWAG |\n| :-- | --: | --: | --: |\n${rows.join('\n')}\n`;
}
