/**
 * Elementwise kernels: unary and binary maps with numpy broadcasting (up to 6 dimensions),
 * and the fused form — any WGSL expression over several broadcast inputs — that both are built on.
 */
export { MAX_BROADCAST_RANK, broadcastShapes, broadcastStrides, collapseLayout, inputAccess } from './elementwise/broadcast.ts';
export type { CollapsedLayout, InputAccess } from './elementwise/broadcast.ts';
export { type ExprNode, renderExpr, validateExpr, f32Literal } from './elementwise/expr.ts';
export { ELEMENTWISE_WORKGROUP, INPUT_NAMES, type ElementwiseConfig, type ElementwiseExprOptions, elementwiseExpr, elementwiseSpec, elementwiseWgsl } from './elementwise/kernel.ts';
export { type UnaryOptions, binary, unary } from './elementwise/maps.ts';
export { BINARY_OPS, UNARY_OPS, type BinaryOp, type UnaryOp, renderBinary, renderUnary } from './elementwise/ops.ts';
