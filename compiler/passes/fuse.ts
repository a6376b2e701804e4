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
 *   recognizeRingBufferWrite  select(eq(iota, slot), row, ring) → writeRow(ring, row, slot)
 *   fuseElementwise         elementwise chains (with broadcasts, remaps, constants) → one kernel
 *   fuseRingBufferWrite     a row write with the elementwise producers of its row and index → one kernel
 *   fuseLowRankSample       tail(c·B) with c [1, K] elementwise (SWAG's z₂ @ D) → one kernel
 *   fuseSoftmax             a softmax's elementwise producer and consumer → its row kernel
 */
import { printGraph, verifyGraph, type Graph } from '../ir/index.ts';
import { fuseBatchedWeightGradient } from './fuseBatchedWeightGradient.ts';
import { fuseElementwise, type FuseElementwiseOptions } from './fuseElementwise.ts';
import { fuseLowRankConcat } from './fuseLowRankConcat.ts';
import { fuseLowRankSample } from './fuseLowRankSample.ts';
import { fuseRingBufferWrite, recognizeRingBufferWrite } from './fuseRingBufferWrite.ts';
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
  g = phase('recognizeRingBufferWrite', recognizeRingBufferWrite(g));
  g = phase('fuseElementwise', fuseElementwise(g, options));
  g = phase('fuseRingBufferWrite', fuseRingBufferWrite(g, options));
  if (options.matmul ?? true) g = phase('fuseLowRankSample', fuseLowRankSample(g, options));
  return phase('fuseSoftmax', fuseSoftmax(g, options));
}
