/**
 * `swaglet k8s CONFIG`: the Kubernetes road to many machines, for clusters without a Redis.
 * Two batch/v1 Jobs in one YAML stream:
 *
 * - `<name>-runs`: an Indexed Job with one completion per run; pod `i` trains run `i`
 *   (`swaglet train CONFIG --run $JOB_COMPLETION_INDEX --resume`), so a pod that is evicted
 *   and restarted resumes from its last checkpoint on the shared volume;
 * - `<name>-combine`: `swaglet eval CONFIG` once the runs are done (apply it after
 *   `kubectl wait --for=condition=complete job/<name>-runs`; Kubernetes has no job dependencies).
 *
 * Both mount one PersistentVolumeClaim at the same path, where the config, the data and the
 * output directory live, exactly as workers of the queue share a volume.
 */
import type { Job } from 'kubernetes-types/batch/v1.js';
import { stringify } from 'yaml';

export interface K8sOptions {
  /** The experiment's name (Job names derive from it) and its number of runs. */
  name: string;
  runs: number;
  /** The config file's path inside the container (on the shared volume). */
  configPath: string;
  /** A container image with swaglet (the standalone build, or `npm install swaglet`). */
  image: string;
  /** The PersistentVolumeClaim shared by every pod, and where it is mounted. */
  volumeClaim: string;
  mountPath: string;
  /** Runs trained at once (default: all). */
  parallelism?: number;
  /** GPUs per pod (default 1): `nvidia.com/gpu`. 0 runs on CPU (llvmpipe). */
  gpus?: number;
  /** Retries of a pod that fails (default 3); a retry resumes from the last checkpoint. */
  backoffLimit?: number;
}

/** Kubernetes names: lowercase letters, digits and '-', at most 63 characters. */
export function k8sName(name: string): string {
  const n = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50);
  return n || 'swaglet';
}

function job(o: K8sOptions, suffix: string, args: string[], indexed: boolean): Job {
  const gpus = o.gpus ?? 1;
  const name = `${k8sName(o.name)}-${suffix}`;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'app.kubernetes.io/name': 'swaglet', 'swaglet/experiment': k8sName(o.name) } },
    spec: {
      ...(indexed ? { completionMode: 'Indexed', completions: o.runs, parallelism: Math.min(o.parallelism ?? o.runs, o.runs) } : { completions: 1 }),
      backoffLimit: o.backoffLimit ?? 3,
      template: {
        metadata: { labels: { 'swaglet/experiment': k8sName(o.name), 'swaglet/role': suffix } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'swaglet',
              image: o.image,
              command: ['swaglet'],
              args,
              workingDir: o.mountPath,
              ...(gpus > 0 ? { resources: { limits: { 'nvidia.com/gpu': String(gpus) } } } : {}),
              volumeMounts: [{ name: 'work', mountPath: o.mountPath }],
            },
          ],
          volumes: [{ name: 'work', persistentVolumeClaim: { claimName: o.volumeClaim } }],
        },
      },
    },
  };
}

/** The two Jobs, as typed objects (the YAML below is their serialization). */
function k8sJobs(o: K8sOptions): [Job, Job] {
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error(`k8s: the experiment must have at least one run, got ${o.runs}`);
  return [
    // $(JOB_COMPLETION_INDEX) is expanded by Kubernetes from the env var every indexed pod has.
    job(o, 'runs', ['train', o.configPath, '--run', '$(JOB_COMPLETION_INDEX)', '--resume'], true),
    job(o, 'combine', ['eval', o.configPath], false),
  ];
}

export function k8sManifest(o: K8sOptions): string {
  const [runs, combine] = k8sJobs(o);
  const header = `# swaglet: ${o.runs} run(s) of '${o.name}' as an Indexed Job, then the combine step.\n# kubectl apply -f <this file's first document>; kubectl wait --for=condition=complete job/${runs.metadata!.name} --timeout=-1s; then apply the second.\n`;
  return `${header}${stringify(runs)}---\n${stringify(combine)}`;
}
