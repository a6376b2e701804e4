/**
 * One job is one training run of one experiment (one member of an ensemble or MultiSWAG, or one
 * point of a sweep). Its id is derived from the experiment and the run, so submitting the same
 * experiment twice does not queue its runs twice; a job that already completed is not rerun.
 */
export const QUEUE_NAME = 'swaglet-runs';

export interface RunJob {
  /** The experiment's config file, as an absolute path every worker can read (a shared volume). */
  config: string;
  /** Which run of the experiment (0-based). */
  run: number;
  /** A digest of the config's training-relevant fields: a changed config is a different job. */
  fingerprint: string;
  /** For display: the experiment's name. */
  name: string;
}

/** BullMQ job ids may not contain ':' (its key separator). */
export const jobId = (job: RunJob): string => `${job.name}.${job.fingerprint}.run-${job.run}`.replace(/[^A-Za-z0-9._-]/g, '_');

/** Progress a worker reports while it trains (steps of the run). */
export interface RunProgress {
  done: number;
  total: number;
  detail?: string;
}
