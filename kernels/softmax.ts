/**
 * Softmax over the last axis (forward with optional masks, backward) and cross-entropy with
 * integer labels (forward per-row losses and mean, backward), all row kernels built on one
 * skeleton (kernels/softmax/rows.ts).
 */
export { type RowStrategy, planRows, rowOperandLayout } from './softmax/rows.ts';
export { type SoftmaxConfig, type SoftmaxOptions, softmax, softmaxBackward, softmaxBackwardWgsl, softmaxWgsl } from './softmax/softmax.ts';
export {
  type CrossEntropyBackwardOptions, type CrossEntropyResult, crossEntropy, crossEntropyBackward, crossEntropyBackwardWgsl, crossEntropyWgsl,
} from './softmax/cross-entropy.ts';
