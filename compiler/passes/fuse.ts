/**
 * The fusion phase as one visible list of passes, each a Graph → Graph function in its own file.
 * Runs after autodiff and simplification (`runPipeline`); its result still evaluates to the same
 * outputs (up to float rounding), and every fused node is one kernel for the scheduler.
 *
 *   fuseMatmulTranspose     transpose of the last two axes → matmul transA/transB
 *   fuseMatmulOperandScale  matmul(c·x, y) → fusedMatmul {alpha: c}
 *   fuseBatchedWeightGradient  Σ_batch Aᵦᵀ·Bᵦ → one matmul with the batch folded into K
 *   fuseLowRankConcat       x·Wᵀ + s·(u·Bᵀ) → one matmul over [x | s·u]·[W | B]ᵀ
 *   fuseMatmulEpilogue      bias, row bias, scale, activation after a matmul → its epilogue
 *   fuseElementwise         elementwise chains (with broadcasts, remaps, constants) → one kernel
 *   fuseSoftmax             a softmax's elementwise producer and consumer → its row kernel
 */
import { printGraph, verifyGraph, type Graph } from '../ir/index.ts';
import { fuseBatchedWeightGradient } from './fuseBatchedWeightGradient.ts';
import { fuseElementwise, type FuseElementwiseOptions } from './fuseElementwise.ts';
import { fuseLowRankConcat } from './fuseLowRankConcat.ts';
import { fuseMatmulEpilogue } from './fuseMatmulEpilogue.ts';
import { fuseMatmulOperandScale } from './fuseMatmulOperandScale.ts';
import { fuseMatmulTranspose } from './fuseMatmulTranspose.ts';
import { fuseSoftmax } from './fuseSoftmax.ts';

export interface FuseOptions extends FuseElementwiseOptions {
  /** Called with each phase's name and printed IR. */
  readonly dump?: (phase: string, ir: string) => void;
  /** Verify after every pass (default true). */
  readonly verify?: boolean;
  /** Skip the matmul fusions (transposes, scales, concat, epilogue): elementwise fusion only. */
  readonly matmul?: boolean;
}

export function fuseGraph(g: Graph, options: FuseOptions = {}): Graph {
  const verify = options.verify ?? true;
  const phase = (name: string, next: Graph): Graph => {
    if (verify) verifyGraph(next);
    options.dump?.(name, printGraph(next));
    return next;
  };
  if (options.matmul ?? true) {
    g = phase('fuseMatmulTranspose', fuseMatmulTranspose(g));
    g = phase('fuseMatmulOperandScale', fuseMatmulOperandScale(g));
    g = phase('fuseBatchedWeightGradient', fuseBatchedWeightGradient(g));
    g = phase('fuseLowRankConcat', fuseLowRankConcat(g));
    g = phase('fuseMatmulEpilogue', fuseMatmulEpilogue(g));
  }
  g = phase('fuseElementwise', fuseElementwise(g, options));
  return phase('fuseSoftmax', fuseSoftmax(g, options));
}
