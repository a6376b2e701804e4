/**
 * verifyGraph: checks the invariants every pass must keep. Run after each pass in tests (and
 * by the pipeline on request), it turns a pass bug into a clear message at the pass that made it.
 */
import { IRShapeError, IRVerifyError, formatShape } from './errors.ts';
import type { Graph } from './graph.ts';
import { OPS, attrMatchesKind, isOpName } from './ops/index.ts';
import type { TypeInfo } from './types.ts';
import { shapesEqual } from './shape.ts';

/**
 * Returns the problems found (empty when the graph is valid):
 * - node ids equal their index, inputs refer to earlier nodes (SSA, topological order);
 * - every op is known, arity matches, attrs match the schema and are canonical;
 * - the stored shape and dtype equal what the shape rule recomputes;
 * - graph inputs list exactly the `input` nodes, with unique names and matching roles;
 * - outputs refer to existing nodes and have unique names.
 */
export function graphProblems(g: Graph): string[] {
  const problems: string[] = [];
  g.nodes.forEach((node, index) => {
    const at = `%${index}`;
    if (node.id !== index) problems.push(`${at}: id is ${node.id}, expected its index ${index}`);
    if (!isOpName(node.op)) {
      problems.push(`${at}: unknown op "${String(node.op)}"`);
      return;
    }
    const spec = OPS[node.op];
    const arityOk = spec.arity === 'variadic' ? node.inputs.length >= 1 : node.inputs.length === spec.arity;
    if (!arityOk) problems.push(`${at}: ${node.op} takes ${spec.arity} operands, has ${node.inputs.length}`);
    const badRef = node.inputs.find((i) => !Number.isInteger(i) || i < 0 || i >= index);
    if (badRef !== undefined) {
      problems.push(`${at}: operand %${badRef} is not an earlier node`);
      return;
    }
    for (const key of Object.keys(node.attrs)) {
      if (!(key in spec.attrs)) problems.push(`${at}: unknown attr "${key}" on ${node.op}`);
    }
    let attrsOk = true;
    for (const [key, attrSpec] of Object.entries(spec.attrs)) {
      if (!attrMatchesKind(attrSpec.kind, node.attrs[key])) {
        problems.push(`${at}: attr ${key} = ${JSON.stringify(node.attrs[key])} is not a valid ${attrSpec.kind}`);
        attrsOk = false;
      }
    }
    if (!attrsOk || !arityOk) return;
    const types: TypeInfo[] = node.inputs.map((i) => g.nodes[i]!);
    try {
      if (spec.canonicalize && JSON.stringify(spec.canonicalize(types, node.attrs)) !== JSON.stringify(node.attrs)) {
        problems.push(`${at}: attrs of ${node.op} are not canonical`);
      }
      const t = spec.infer(types, node.attrs);
      if (!shapesEqual(t.shape, node.shape) || t.dtype !== node.dtype) {
        problems.push(`${at}: stored type ${node.dtype}${formatShape(node.shape)} but ${node.op} gives ${t.dtype}${formatShape(t.shape)}`);
      }
    } catch (e) {
      if (e instanceof IRShapeError) problems.push(`${at}: ${e.message}`);
      else throw e;
    }
  });

  const seenInputs = new Set<string>();
  const listed = new Set<number>();
  for (const input of g.inputs) {
    const node = g.nodes[input.node];
    if (seenInputs.has(input.name)) problems.push(`input "${input.name}" listed twice`);
    seenInputs.add(input.name);
    listed.add(input.node);
    if (!node || node.op !== 'input') problems.push(`input "${input.name}" refers to %${input.node}, not an input node`);
    else if (node.attrs.name !== input.name || node.attrs.role !== input.role) {
      problems.push(`input "${input.name}" (${input.role}) disagrees with %${input.node} ("${String(node.attrs.name)}", ${String(node.attrs.role)})`);
    }
  }
  for (const node of g.nodes) {
    if (node.op === 'input' && !listed.has(node.id)) problems.push(`%${node.id}: input node not listed in graph inputs`);
  }
  const seenOutputs = new Set<string>();
  for (const out of g.outputs) {
    if (seenOutputs.has(out.name)) problems.push(`output "${out.name}" listed twice`);
    seenOutputs.add(out.name);
    if (!g.nodes[out.node]) problems.push(`output "${out.name}" refers to missing node %${out.node}`);
  }
  return problems;
}

/** Throws an IRVerifyError listing every problem when the graph breaks an invariant. */
export function verifyGraph(g: Graph): void {
  const problems = graphProblems(g);
  if (problems.length) throw new IRVerifyError(problems);
}
