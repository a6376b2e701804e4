import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { k8sManifest } from '../../k8s/manifest.ts';
import { strictDiagnostics } from '../helpers/typecheck.ts';

const options = { name: 'MultiSWAG_paper', runs: 5, configPath: '/work/configs/paper.json', image: 'registry.example/swaglet:0.1', volumeClaim: 'swaglet-work', mountPath: '/work' };
const dir = mkdtempSync(join(resolve('test'), '.k8s-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Type-checks parsed YAML documents as fresh object literals of batch/v1 Job: unknown fields and wrong types are errors. */
function checkAsJobs(docs: unknown[], name: string): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `import type { Job } from 'kubernetes-types/batch/v1.js';\nexport const jobs: Job[] = ${JSON.stringify(docs, null, 2)};\n`);
  return strictDiagnostics([file]);
}

describe('swaglet k8s manifest', () => {
  const text = k8sManifest(options);
  const docs = parseAllDocuments(text).map((d) => d.toJSON());

  it('is two batch/v1 Jobs that satisfy the Job schema', () => {
    expect(docs).toHaveLength(2);
    expect(checkAsJobs(docs, 'valid')).toBe('');
  }, 60_000);

  it('the check rejects what the schema does not allow (a misspelt field, a wrong type)', () => {
    const bad = structuredClone(docs) as Record<string, any>[];
    bad[0]!.spec.completionz = 5;
    bad[1]!.spec.backoffLimit = 'three';
    const out = checkAsJobs(bad, 'invalid');
    expect(out).toMatch(/completionz/);
    expect(out).toMatch(/backoffLimit|string/);
  }, 60_000);

  it('runs one indexed pod per run, each training its own run with resume, and a combine step', () => {
    const [runs, combine] = docs as Record<string, any>[];
    expect(runs!.metadata.name).toBe('multiswag-paper-runs');
    expect(runs!.spec).toMatchObject({ completionMode: 'Indexed', completions: 5, parallelism: 5 });
    const c = runs!.spec.template.spec.containers[0];
    expect(c.args).toEqual(['train', '/work/configs/paper.json', '--run', '$(JOB_COMPLETION_INDEX)', '--resume']);
    expect(c.resources.limits['nvidia.com/gpu']).toBe('1');
    expect(runs!.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe('swaglet-work');
    expect(combine!.spec.template.spec.containers[0].args).toEqual(['eval', '/work/configs/paper.json']);
    expect(combine!.spec.completionMode).toBeUndefined();
  });

  it('refuses an experiment without runs', () => {
    expect(() => k8sManifest({ ...options, runs: 0 })).toThrow(/at least one run/);
  });
});
