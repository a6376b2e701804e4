/**
 * printGraph: a readable, byte-stable text dump of a graph, one node a line:
 *
 *   %7: f32[128, 64] = matmul(%3, %5) {transB: true}  # lora.swag:6:12
 *
 * Stable means: the same graph always prints the same bytes (attrs in schema order, not object
 * insertion order; numbers in JS shortest round-trip form), so dumps can be diffed and golden-tested.
 * Attrs equal to their default, and attrs the type already shows (a reshape's shape), are omitted.
 */
import { formatShape, formatSpan } from './errors.ts';
import { formatAttr } from './formatAttr.ts';
import type { AttrValue, Graph, Node } from './graph.ts';
import { OPS } from './ops/index.ts';

function sameAttr(a: AttrValue, b: AttrValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The node's type, e.g. `f32[128, 64]`. */
export function formatType(node: Pick<Node, 'dtype' | 'shape'>): string {
  return `${node.dtype}${formatShape(node.shape)}`;
}

/** One node as printed by `printGraph`, without indentation. */
export function printNode(node: Node): string {
  const head = `%${node.id}${node.name !== undefined ? ` ${JSON.stringify(node.name)}` : ''}: ${formatType(node)} = `;
  let body: string;
  if (node.op === 'input') {
    body = `${String(node.attrs.role)} ${JSON.stringify(node.attrs.name)}`;
  } else {
    const spec = OPS[node.op];
    const shown: string[] = [];
    for (const [key, attrSpec] of Object.entries(spec.attrs)) {
      const v = node.attrs[key];
      if (v === undefined || attrSpec.printed === false) continue;
      if (attrSpec.default !== undefined && sameAttr(v, attrSpec.default)) continue;
      shown.push(`${key}: ${formatAttr(v)}`);
    }
    const operands = node.inputs.length ? `(${node.inputs.map((i) => `%${i}`).join(', ')})` : '';
    body = `${node.op}${operands}${shown.length ? ` {${shown.join(', ')}}` : ''}`;
  }
  return head + body + (node.span ? `  # ${formatSpan(node.span)}` : '');
}

/** The whole graph as text, ending with the outputs line and a newline. */
export function printGraph(g: Graph): string {
  const lines = g.nodes.map(printNode);
  lines.push(`outputs: ${g.outputs.map((o) => `${o.name} = %${o.node}`).join(', ')}`);
  return lines.join('\n') + '\n';
}
