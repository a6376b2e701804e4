/**
 * Finite-difference gradient check: compares `differentiate`'s gradients with central differences
 * of the loss, computed by the f64 interpreter.
 */
import { differentiate, evaluate, verifyGraph, type Feed, type Graph } from '../../compiler/ir/index.ts';
import { relativeError } from './randomFeeds.ts';

export interface GradCheckResult {
  /** Worst scale-relative error per wrt name. */
  readonly errors: Record<string, number>;
  readonly worst: number;
}

export function gradCheck(
  g: Graph,
  options: { loss?: string; wrt: readonly string[]; feeds: Record<string, Feed>; h?: number },
): GradCheckResult {
  const loss = options.loss ?? 'loss';
  const h = options.h ?? 1e-5;
  const dg = differentiate(g, { loss, wrt: options.wrt });
  verifyGraph(dg);
  const analytic = evaluate(dg, options.feeds);
  const lossAt = (feeds: Record<string, Feed>): number => evaluate(g, feeds)[loss]![0]!;
  const errors: Record<string, number> = {};
  for (const name of options.wrt) {
    const input = g.inputs.find((i) => i.name === name);
    if (!input) throw new Error(`gradCheck perturbs inputs only; "${name}" is not one`);
    const base = Float64Array.from(options.feeds[name]!);
    const numeric = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const plus = base.slice();
      plus[i] += h;
      const minus = base.slice();
      minus[i] -= h;
      numeric[i] = (lossAt({ ...options.feeds, [name]: plus }) - lossAt({ ...options.feeds, [name]: minus })) / (2 * h);
    }
    errors[name] = relativeError(analytic[`grad.${name}`]!, numeric);
  }
  return { errors, worst: Math.max(0, ...Object.values(errors)) };
}
