/**
 * Frozen-prefix splitting: the part of a network that depends only on its data inputs and frozen
 * weights gives the same answer every step and for every posterior sample, so it can be computed
 * once per example and cached. This pass cuts a set of graphs (forward, training, ...) at that
 * boundary:
 *
 * - a node is *prefix* when it depends on some prefix input (token ids, masks) and on no
 *   parameter, state or other per-step input (seeds, labels, theta);
 * - the *cut* is every prefix node some non-prefix node (or an output) uses;
 * - the prefix graph computes the cut from the prefix inputs; each suffix graph reads the cut as
 *   inputs named `cache.<k>` instead of recomputing it.
 *
 * The cut is matched across graphs by structure (op, attrs, operands, down to named inputs), so
 * a training graph and a forward graph that both use `pooled` read the same cached tensor.
 * Caching per example is only sound when the prefix never mixes batch rows (true of per-example
 * encoders: attention within a sequence, pooling over its tokens); callers check that every
 * cached tensor has the batch as its leading axis, and the tests compare split and unsplit runs.
 */
import { GraphBuilder, type Graph, type Node, type Value } from '../ir/index.ts';
import { eliminateDeadCode } from './deadCode.ts';

export interface CachedValue {
  /** The suffix input name: `cache.<k>`. */
  name: string;
  shape: number[];
  dtype: 'f32' | 'i32';
}

export interface FrozenPrefixSplit {
  /** Prefix inputs → outputs `cache.<k>`. */
  prefix: Graph;
  /** Each input graph with its prefix replaced by `cache.<k>` inputs (same keys as given). */
  suffixes: Record<string, Graph>;
  cached: CachedValue[];
}

type Kind = 'static' | 'prefix' | 'varying';

/** Classifies every node: static (frozen/constant only), prefix, or varying. */
function classify(g: Graph, prefixInputs: ReadonlySet<string>): Kind[] {
  const kinds: Kind[] = [];
  for (const node of g.nodes) {
    if (node.op === 'input') {
      const input = g.inputs.find((i) => i.node === node.id)!;
      if (input.role === 'frozen') kinds.push('static');
      else if (input.role === 'input' && prefixInputs.has(input.name)) kinds.push('prefix');
      else kinds.push('varying');
      continue;
    }
    const ks = node.inputs.map((i) => kinds[i]!);
    kinds.push(ks.includes('varying') ? 'varying' : ks.includes('prefix') ? 'prefix' : 'static');
  }
  return kinds;
}

/** Structural keys: equal keys compute equal values (inputs by name, nodes by op, attrs, operands). */
function structuralKeys(g: Graph, intern: Map<string, number>): number[] {
  const keys: number[] = [];
  for (const node of g.nodes) {
    const text = node.op === 'input' ? `input:${String(node.attrs.name)}` : `${node.op}${JSON.stringify(node.attrs)}(${node.inputs.map((i) => keys[i]).join(',')})`;
    let k = intern.get(text);
    if (k === undefined) intern.set(text, (k = intern.size));
    keys.push(k);
  }
  return keys;
}

/** Prefix nodes used by a varying node or by an output: what the suffix must read from the cache. */
function cutNodes(g: Graph, kinds: readonly Kind[]): number[] {
  const cut = new Set<number>();
  for (const node of g.nodes) {
    if (kinds[node.id] !== 'varying') continue;
    for (const i of node.inputs) if (kinds[i] === 'prefix') cut.add(i);
  }
  for (const o of g.outputs) if (kinds[o.node] === 'prefix') cut.add(o.node);
  return [...cut].sort((a, b) => a - b);
}

/** Copies a node onto `b` with operands already mapped. */
function copyNode(b: GraphBuilder, g: Graph, node: Node, mapped: readonly (Value | undefined)[]): Value {
  if (node.op === 'input') {
    const input = g.inputs.find((i) => i.node === node.id)!;
    return b.input(input.name, node.shape, { role: input.role, dtype: node.dtype, span: node.span });
  }
  return b.node(node.op, node.inputs.map((i) => mapped[i]!), node.attrs, { span: node.span, name: node.name });
}

/** Nodes some output needs, walking back from outputs but stopping at `stops`. */
function liveFrom(g: Graph, stops: ReadonlySet<number>): boolean[] {
  const live = g.nodes.map(() => false);
  for (const o of g.outputs) live[o.node] = true;
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    if (!live[i] || stops.has(i)) continue;
    for (const j of g.nodes[i]!.inputs) live[j] = true;
  }
  return live;
}

/**
 * Splits `graphs` at their common frozen prefix. `prefixInputs` names the data inputs the prefix
 * may read (the network's own inputs, not labels or seeds). Returns undefined when no graph has a
 * prefix worth caching (nothing frozen depends on the data).
 */
export function splitFrozenPrefix(graphs: Readonly<Record<string, Graph>>, prefixInputs: readonly string[]): FrozenPrefixSplit | undefined {
  const inputs = new Set(prefixInputs);
  const intern = new Map<string, number>();
  const info = Object.entries(graphs).map(([name, g]) => {
    const kinds = classify(g, inputs);
    return { name, g, kinds, keys: structuralKeys(g, intern), cut: cutNodes(g, kinds) };
  });

  // The cut across all graphs, by structural key, in first-seen order.
  const cutKeys: number[] = [];
  for (const x of info) for (const id of x.cut) if (!cutKeys.includes(x.keys[id]!)) cutKeys.push(x.keys[id]!);
  // A cut made only of the raw inputs saves nothing.
  const worthIt = info.some((x) => x.cut.some((id) => x.g.nodes[id]!.op !== 'input'));
  if (cutKeys.length === 0 || !worthIt) return undefined;

  // The prefix graph: from the first graph holding every cut value (CSE makes keys unique per graph).
  const home = info.find((x) => cutKeys.every((k) => x.keys.some((key, id) => key === k && x.kinds[id] === 'prefix')));
  if (!home) throw new Error('splitFrozenPrefix: no single graph computes the whole cut; compile the prefix graphs together');
  const cutIds = cutKeys.map((k) => home.keys.findIndex((key, id) => key === k && home.kinds[id] === 'prefix'));
  const cached: CachedValue[] = cutIds.map((id, k) => {
    const node = home.g.nodes[id]!;
    return { name: `cache.${k}`, shape: [...node.shape], dtype: node.dtype };
  });

  const pb = new GraphBuilder();
  {
    const live = liveFrom({ ...home.g, outputs: cutIds.map((node, k) => ({ name: `cache.${k}`, node })) }, new Set());
    const mapped: (Value | undefined)[] = [];
    for (const node of home.g.nodes) {
      if (!live[node.id]) continue;
      mapped[node.id] = copyNode(pb, home.g, node, mapped);
    }
    cutIds.forEach((id, k) => pb.output(`cache.${k}`, mapped[id]!));
  }

  const suffixes: Record<string, Graph> = {};
  for (const x of info) {
    const cacheOf = new Map<number, number>();
    x.g.nodes.forEach((_, id) => {
      if (x.kinds[id] !== 'prefix') return;
      const k = cutKeys.indexOf(x.keys[id]!);
      if (k >= 0) cacheOf.set(id, k);
    });
    const live = liveFrom(x.g, new Set(cacheOf.keys()));
    const b = new GraphBuilder();
    const mapped: (Value | undefined)[] = [];
    // Cache inputs first, in cut order, so every suffix has the same leading inputs.
    const cacheInputs = new Map<number, Value>();
    for (const [id, k] of [...cacheOf.entries()].sort((p, q) => p[1] - q[1])) {
      if (!live[id]) continue;
      const node = x.g.nodes[id]!;
      cacheInputs.set(id, b.input(cached[k]!.name, node.shape, { dtype: node.dtype, span: node.span }));
    }
    for (const node of x.g.nodes) {
      if (!live[node.id]) continue;
      mapped[node.id] = cacheInputs.get(node.id) ?? copyNode(b, x.g, node, mapped);
    }
    for (const o of x.g.outputs) b.output(o.name, mapped[o.node]!);
    suffixes[x.name] = eliminateDeadCode(b.build());
  }
  return { prefix: eliminateDeadCode(pb.build()), suffixes, cached };
}
