/**
 * Source spans → IR spans. The IR keeps only `file:line:col` of where a node came from; every node
 * the lowering makes carries the span of the source expression (or declaration) it lowers, so
 * kernel labels and IR dumps point back at the `.swag` text.
 */
import type { Graph, Span } from '../ir/index.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';

export function irSpan(s: SourceSpan): Span {
  return { file: s.file, line: s.start.line, col: s.start.col };
}

/** `file:line:col`, for messages that name where something was declared. */
export function showSpan(s: SourceSpan): string {
  return `${s.file}:${s.start.line}:${s.start.col}`;
}

/** Gives `span` to the nodes that have none (nodes `differentiate` adds outside any forward node). */
export function fillSpans(g: Graph, span: Span): Graph {
  if (g.nodes.every((n) => n.span)) return g;
  return { ...g, nodes: g.nodes.map((n) => (n.span ? n : { ...n, span })) };
}
