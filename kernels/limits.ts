/**
 * llvmpipe silently ends every loop of an invocation once that invocation has run 65,535 loop
 * iterations in total (one counter for all its loops; Mesa's gallivm loop guard, measured on
 * Mesa 22.3: a 100,000-iteration loop returns after 65,535, and later loops then run once).
 * No error is raised, so every kernel keeps each invocation at half that and splits longer
 * work across invocations instead of truncating it.
 */
export const MAX_LOOP_ITERATIONS_PER_INVOCATION = 32768;
