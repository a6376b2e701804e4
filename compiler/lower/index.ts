/**
 * compiler/lower — from the checked program (compiler/types) to the tensor IR (compiler/ir).
 * Imports the front end's types and the IR; nothing from passes, emit, runtime or kernels.
 */
export { lowerProgram } from './lowerProgram.ts';
export type { DataInput, InitInfo, LowerRequest, LowerResult, LoweredNetwork, NetworkOptions, TensorInfo } from './lowerProgram.ts';
export type { AdapterRequest } from './lowerAdapter.ts';
export type { FinetuneRequest, ModelRequest } from './lowerModel.ts';
export type { LoweredPosterior, PosteriorRequest, StatInfo } from './lowerPosterior.ts';
export type { LinearStatInfo, LoweredLinearsPosterior } from './lowerLinearsPosterior.ts';
export { linearStatName, tapOutputGradName } from './lowerLinearsPosterior.ts';
export { type LinearTap, tapInputName, tapOutputName } from './linearTaps.ts';
export { ringSlot } from './lowerPosterior.ts';
export type { LossInput, LossSpec } from './loss.ts';
export { DEFAULT_LOSS } from './loss.ts';
export { type LowerDiagnostic, type LowerErrorCode, LowerError, formatLowerDiagnostic } from './errors.ts';
export type { BoundDim } from './bindDims.ts';
export { OP_MAPPING } from './lowerExpr.ts';
export { type ThetaEntry, type ThetaLayout, packTheta, thetaEntry, thetaLayout, unpackTheta } from './theta.ts';
export * from './initializers.ts';
