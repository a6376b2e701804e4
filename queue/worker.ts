/**
 * `swaglet worker`: takes run jobs from the queue and trains them, writing checkpoints to the
 * shared output directory as a local run does. A worker that dies (SIGKILL, a lost machine) stops
 * renewing its job's lock; after `lockDuration` another worker's stalled check puts the job back,
 * and whoever takes it resumes from the last checkpoint, so the run ends bit-identical to an
 * uninterrupted one.
 *
 * A job whose failure cannot change on a retry (a bad config, a diverging run) is failed at once
 * with its message kept in the queue; anything else is retried up to the job's `attempts`.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { parseRedisUrl } from './connection.ts';
import { QUEUE_NAME, type RunJob, type RunProgress } from './jobs.ts';

export type RunProcessor = (job: RunJob, progress: (p: RunProgress) => void) => Promise<void>;

export interface WorkerOptions {
  concurrency?: number;
  /** How long a job's lock lasts without renewal: how soon a dead worker's job is retried (ms). */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs (ms). */
  stalledInterval?: number;
  /** An error of one of these kinds fails the job for good: retrying cannot help. */
  isPermanent?: (e: unknown) => boolean;
  onEvent?: (line: string) => void;
}

export interface RunningWorker {
  /** Stops taking jobs; waits for the jobs in hand to finish unless `force`. */
  close(force?: boolean): Promise<void>;
}

export function startWorker(url: string, process: RunProcessor, options: WorkerOptions = {}): RunningWorker {
  const say = options.onEvent ?? (() => {});
  const worker = new Worker<RunJob>(
    QUEUE_NAME,
    async (job: Job<RunJob>) => {
      say(`${job.id}: started (attempt ${job.attemptsStarted})`);
      try {
        await process(job.data, (p) => void job.updateProgress(p as unknown as object).catch(() => {}));
      } catch (e) {
        if (options.isPermanent?.(e)) throw new UnrecoverableError(e instanceof Error ? e.message : String(e));
        throw e;
      }
      say(`${job.id}: done`);
    },
    {
      connection: parseRedisUrl(url),
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 15_000,
      // A job whose worker died is put back up to this many times before it is failed.
      maxStalledCount: 3,
    },
  );
  worker.on('failed', (job, e) => say(`${job?.id ?? '?'}: failed: ${e.message}`));
  worker.on('error', (e) => say(`queue connection: ${e.message}`));
  return { close: (force = false) => worker.close(force) };
}
