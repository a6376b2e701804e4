/**
 * The tensor IR: graph types, op table, builder, printer, verifier, interpreter, autodiff.
 * Consumers (the lowering from the checked AST, the passes, the WGSL emitter) import from here.
 */
export type { AttrValue, Attrs, DType, Graph, GraphInput, GraphOutput, InputRole, Node, Shape, Span } from './graph.ts';
export { findInput, numel, outputNode } from './graph.ts';
export { IRAutodiffError, IRError, IREvaluationError, IRShapeError, IRVerifyError, formatShape, formatSpan } from './errors.ts';
export type { TypeInfo } from './types.ts';
export { OPS, attrMatchesKind, attrsOf, isOpName, isPrimitiveOp, opSpec } from './ops/index.ts';
export type { AttrKind, AttrSchema, AttrSpec, AttrsFromSchema, AttrsOf, FusedOpName, OpKind, OpName, OpSpec, PrimitiveOpName } from './ops/index.ts';
export { broadcastShapes, broadcastReductionAxes, normalizeAxis, shapesEqual, stridesOf } from './shape.ts';
export { GraphBuilder } from './builder.ts';
export type { NodeMeta, Operand, Value } from './builder.ts';
export { formatType, printGraph, printNode } from './printer.ts';
export { graphProblems, verifyGraph } from './verify.ts';
export { evaluate, evaluateNodes } from './interpreter.ts';
export type { EvaluateOptions, Feed, Feeds, TensorData } from './interpreter.ts';
export { evaluateBody, evaluateOp, geluTanh } from './evaluateOp.ts';
export type { OpApplication, TypedTensor } from './evaluateOp.ts';
export { hashDropoutUniform, lowbias32 } from './dropoutMask.ts';
export type { DropoutUniform } from './dropoutMask.ts';
export { hashNormal } from './normalDraw.ts';
export type { NormalGenerator } from './normalDraw.ts';
export { GRADIENTS } from './gradients.ts';
export type { GradientContext, GradientRule } from './gradients.ts';
export { differentiate, sumToShape } from './autodiff.ts';
export type { DifferentiateOptions } from './autodiff.ts';
export { copyNodes, rewriteGraph } from './rewrite.ts';
export type { NodeRewriter, RewriteContext } from './rewrite.ts';
export { MAX_BODY_REDUCTION, inferBody, instructionOf, isBodyOp, isBodyReduction, parseBody, printBody } from './ops/body.ts';
export type { BodyArg, BodyInstruction, FusedBody } from './ops/body.ts';
export { MATMUL_ACTIVATIONS, MAX_LOW_RANK, fusedLowRankTypes, fusedMatmulOperands, fusedSoftmaxInput } from './ops/index.ts';
export { parseGraph } from './parser.ts';
