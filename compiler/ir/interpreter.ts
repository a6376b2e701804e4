/**
 * The CPU interpreter: runs a graph in f64 on plain typed arrays. It is the reference every
 * generated kernel and every pass is checked against (a pass must not change what `evaluate`
 * returns), and the engine behind finite-difference gradient checks.
 */
import { IREvaluationError, formatShape } from './errors.ts';
import { numel, type Graph } from './graph.ts';
import { evaluateOp, type EvaluateOptions, type TensorData } from './evaluateOp.ts';
import { attrsOf } from './ops/index.ts';

export type { EvaluateOptions, TensorData } from './evaluateOp.ts';

/** Data for one input: any numeric array of the input's element count, row-major. */
export type Feed = TensorData | Float32Array | readonly number[];

/** Input data by name: a plain record or a Map. */
export type Feeds = Readonly<Record<string, Feed>> | ReadonlyMap<string, Feed>;

function lookup(feeds: Feeds, name: string): Feed | undefined {
  return feeds instanceof Map ? feeds.get(name) : (feeds as Record<string, Feed>)[name];
}

function feedNames(feeds: Feeds): string[] {
  return feeds instanceof Map ? [...feeds.keys()] : Object.keys(feeds);
}

/**
 * Values of every node (undefined for nodes no output depends on). Throws IREvaluationError for
 * a missing, unknown or mis-sized feed, or non-integer data for an i32 input.
 */
export function evaluateNodes(g: Graph, feeds: Feeds, options: EvaluateOptions = {}): (TensorData | undefined)[] {
  const known = new Set(g.inputs.map((i) => i.name));
  const unknown = feedNames(feeds).filter((n) => !known.has(n));
  if (unknown.length) throw new IREvaluationError(`feeds name no input of the graph: ${unknown.join(', ')}`);

  // Only what some output needs: dead branches may hold ops whose feeds are absent.
  const live = new Array<boolean>(g.nodes.length).fill(false);
  for (const o of g.outputs) live[o.node] = true;
  for (let i = g.nodes.length - 1; i >= 0; i--) if (live[i]) for (const j of g.nodes[i]!.inputs) live[j] = true;

  const values: (TensorData | undefined)[] = new Array(g.nodes.length);
  for (const node of g.nodes) {
    if (!live[node.id]) continue;
    if (node.op === 'input') {
      const name = attrsOf(node, 'input').name;
      const feed = lookup(feeds, name);
      if (feed === undefined) throw new IREvaluationError(`no feed for input "${name}" ${node.dtype}${formatShape(node.shape)}`);
      if (feed.length !== numel(node.shape)) {
        throw new IREvaluationError(`feed "${name}" has ${feed.length} elements; ${formatShape(node.shape)} needs ${numel(node.shape)}`);
      }
      if (node.dtype === 'i32') {
        if (!Array.prototype.every.call(feed, (v: number) => Number.isInteger(v))) throw new IREvaluationError(`feed "${name}" is i32 but holds non-integers`);
        values[node.id] = Int32Array.from(feed);
      } else {
        values[node.id] = Float64Array.from(feed);
      }
      continue;
    }
    const inputs = node.inputs.map((i) => ({ shape: g.nodes[i]!.shape, dtype: g.nodes[i]!.dtype, data: values[i]! }));
    values[node.id] = evaluateOp(node, inputs, options);
  }
  return values;
}

/** Runs the graph; returns each output's data by output name. */
export function evaluate(g: Graph, feeds: Feeds, options: EvaluateOptions = {}): Record<string, TensorData> {
  const values = evaluateNodes(g, feeds, options);
  const out: Record<string, TensorData> = {};
  for (const o of g.outputs) out[o.name] = values[o.node]!;
  return out;
}
