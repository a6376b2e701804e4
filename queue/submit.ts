/**
 * `swaglet train CONFIG --queue URL`: puts one job per run on the queue, then waits for all of
 * them, reporting each job's progress. Job ids come from the experiment and run, so a resubmit
 * adds nothing that is already queued, running or done.
 */
import { Queue, QueueEvents } from 'bullmq';
import { parseRedisUrl } from './connection.ts';
import { QUEUE_NAME, type RunJob, type RunProgress, jobId } from './jobs.ts';

export interface SubmitEvents {
  progress?(id: string, p: RunProgress): void;
  completed?(id: string): void;
  failed?(id: string, reason: string): void;
}

export interface SubmitResult {
  completed: string[];
  failed: { id: string; reason: string }[];
}

export interface SubmitOptions {
  /** Tries per job for failures that may pass (a worker's error, not its death; default 2). */
  attempts?: number;
}

export async function submitRuns(url: string, jobs: readonly RunJob[], events: SubmitEvents = {}, options: SubmitOptions = {}): Promise<SubmitResult> {
  const connection = parseRedisUrl(url);
  const queue = new Queue<RunJob>(QUEUE_NAME, { connection });
  const queueEvents = new QueueEvents(QUEUE_NAME, { connection });
  const ids = new Set(jobs.map(jobId));
  const completed = new Set<string>();
  const failed = new Map<string, string>();
  try {
    await queueEvents.waitUntilReady();
    let settle: () => void = () => {};
    const allSettled = new Promise<void>((resolve) => (settle = resolve));
    const check = () => {
      if (completed.size + failed.size === ids.size) settle();
    };
    queueEvents.on('progress', ({ jobId: id, data }) => {
      if (ids.has(id)) events.progress?.(id, data as unknown as RunProgress);
    });
    queueEvents.on('completed', ({ jobId: id }) => {
      if (!ids.has(id) || completed.has(id)) return;
      completed.add(id);
      failed.delete(id);
      events.completed?.(id);
      check();
    });
    queueEvents.on('failed', async ({ jobId: id, failedReason }) => {
      if (!ids.has(id)) return;
      // A failure with tries left is retried: only the final one counts.
      const job = await queue.getJob(id);
      if (job && (await job.getState()) !== 'failed') return;
      failed.set(id, failedReason);
      events.failed?.(id, failedReason);
      check();
    });
    for (const job of jobs) {
      const id = jobId(job);
      const existing = await queue.getJob(id);
      // A job that failed before is tried afresh on resubmission (the user may have fixed the cause).
      if (existing && (await existing.getState()) === 'failed') await existing.retry('failed');
      else if (!existing) await queue.add('run', job, { jobId: id, attempts: options.attempts ?? 2, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false });
    }
    // Jobs that finished before we listened (or before this submit) are settled now.
    for (const id of ids) {
      const job = await queue.getJob(id);
      const state = job ? await job.getState() : 'unknown';
      if (state === 'completed' && !completed.has(id)) {
        completed.add(id);
        events.completed?.(id);
      } else if (state === 'failed' && !failed.has(id)) {
        failed.set(id, job!.failedReason);
        events.failed?.(id, job!.failedReason);
      }
    }
    check();
    await allSettled;
    return { completed: [...completed], failed: [...failed].map(([id, reason]) => ({ id, reason })) };
  } finally {
    await queueEvents.close();
    await queue.close();
  }
}
