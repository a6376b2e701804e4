/**
 * What makes a run's SWAG statistics a posterior: at least one snapshot. With none, the mean is
 * the all-zero vector the statistics start from, and evaluating it as "SWA" or drawing from it as
 * "SWAG" reports numbers of a model that was never trained (accuracy at chance, a perfect ECE).
 */
export class EmptyPosteriorError extends Error {
  override name = 'EmptyPosteriorError';
}

/** Throws unless the posterior of `which` (for messages: "run 2") holds a snapshot. */
export function checkPosteriorHasSnapshots(collected: number, which: string): void {
  if (!(collected >= 1)) {
    throw new EmptyPosteriorError(`${which} has no SWAG snapshots (collected ${collected}): its posterior is the untrained all-zero state, not a distribution over trained parameters; train with a schedule that collects at least 2 (train.swag.epochs, train.swag.collectEvery)`);
  }
}
