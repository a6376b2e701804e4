/**
 * A run is finished when all of its outputs are complete, which its manifest says: written after
 * the result, the PEFT adapters and the statistics, it lists each with its size and SHA-256 and
 * records the run's config fingerprint. A run without one (killed between two outputs, or a full
 * disk) is unfinished, whatever files exist; a listed file that changed since is corrupt.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkFileManifest, checkManifestFile, readFileManifest, writeFileManifest } from '../io/manifest.ts';
import { type Fingerprint, diffFingerprints } from '../train/fingerprint.ts';

export const RUN_MANIFEST = 'manifest.json';
export const RESULT_FILE = 'result.safetensors';

/** The outputs of a run folder: every file but the checkpoints, the manifest and temporary files. */
function runOutputFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) {
        if (!(d === dir && e.name === 'checkpoints')) walk(path);
      } else if (!e.name.startsWith('.') && !(d === dir && e.name === RUN_MANIFEST)) out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** Marks the run in `dir` finished: its outputs as they are now, and what it was trained with. */
export async function writeRunManifest(dir: string, fingerprint: Fingerprint): Promise<void> {
  await writeFileManifest(dir, RUN_MANIFEST, runOutputFiles(dir), { fingerprint });
}

export type RunState =
  | { state: 'complete' }
  /** Finished, but with another config. */
  | { state: 'mismatch'; differences: string[] }
  /** Unfinished or damaged: what is missing or wrong. */
  | { state: 'incomplete'; problems: string[] };

/** Whether the run in `dir` is finished, with this fingerprint, and every output as written. */
export async function inspectRun(dir: string, fingerprint: Fingerprint): Promise<RunState> {
  const m = await readFileManifest(dir, RUN_MANIFEST);
  if (typeof m === 'string') return { state: 'incomplete', problems: [m] };
  const differences = diffFingerprints((m.about.fingerprint ?? {}) as Fingerprint, fingerprint);
  if (differences.length) return { state: 'mismatch', differences };
  const problems = await checkFileManifest(dir, RUN_MANIFEST, m);
  return problems.length ? { state: 'incomplete', problems } : { state: 'complete' };
}

/** What is wrong with the run's result file (not listed, missing, changed), or undefined. */
export async function checkRunResult(dir: string): Promise<string | undefined> {
  const m = await readFileManifest(dir, RUN_MANIFEST);
  if (typeof m === 'string') return m;
  const entry = m.files.find((e) => e.file === RESULT_FILE);
  if (!entry) return `${join(dir, RUN_MANIFEST)} lists no ${RESULT_FILE}`;
  return checkManifestFile(dir, RUN_MANIFEST, entry);
}
