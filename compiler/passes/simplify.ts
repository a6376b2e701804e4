/**
 * The simplify stage of compiler/pipeline.ts: autodiff (when asked), then rounds of
 * fold → CSE → DCE, `g = pass(g)`, each a pure function from one graph to the next.
 *
 * `dump` receives the printed IR after every phase; `verify` re-checks every invariant after
 * every pass, so a broken pass is named.
 */
import { differentiate, printGraph, verifyGraph, type DifferentiateOptions, type Graph } from '../ir/index.ts';
import { eliminateCommonSubexpressions } from './commonSubexpressions.ts';
import { foldConstants, type ConstantFoldOptions } from './constantFold.ts';
import { eliminateDeadCode } from './deadCode.ts';

export interface SimplifyOptions {
  /** Differentiate first: adds `grad.<name>` outputs (see `differentiate`). */
  readonly gradients?: DifferentiateOptions;
  readonly constantFold?: ConstantFoldOptions;
  /** Called with each phase's name and printed IR, in order. */
  readonly dump?: (phase: string, ir: string) => void;
  /** Verify the graph after every pass (default true; cheap next to compilation). */
  readonly verify?: boolean;
  /** Rounds of fold → CSE → DCE, stopping early once a round changes nothing. Default 4. */
  readonly maxRounds?: number;
}

/** Differentiates (when asked) and simplifies a graph. */
export function simplify(g: Graph, options: SimplifyOptions = {}): Graph {
  const verify = options.verify ?? true;
  let step = 0;
  const phase = (name: string, next: Graph): Graph => {
    if (verify) verifyGraph(next);
    options.dump?.(`${String(step++).padStart(2, '0')}-${name}`, printGraph(next));
    return next;
  };

  g = phase('input', g);
  if (options.gradients) g = phase('autodiff', differentiate(g, options.gradients));
  const rounds = options.maxRounds ?? 4;
  for (let round = 0; round < rounds; round++) {
    const before = printGraph(g);
    g = phase('constantFold', foldConstants(g, options.constantFold));
    g = phase('cse', eliminateCommonSubexpressions(g));
    g = phase('dce', eliminateDeadCode(g));
    if (printGraph(g) === before) break;
  }
  return g;
}
