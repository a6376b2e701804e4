/**
 * Taps on the linear maps of a training graph, for a posterior over linears (Laplace KFAC): every
 * matmul `a @ P^T` whose weight P is a param used once (LoRA's A and B, a head's weight) gets
 *
 * - the output `tap.<P>.input`: its input rows a [rows, in];
 * - its product y = a Pᵀ named `tap.<P>.output`, which the caller adds to autodiff's `wrt`, so the
 *   differentiated graph has `grad.tap.<P>.output` [rows, out], the loss's gradient at those rows.
 *
 * Nothing is added to the graph's inputs: a tapped graph is fed exactly like an untapped one.
 * A weight used twice has no single input and output, hence no Kronecker factors: it is not tapped.
 */
import { GraphBuilder, type Value } from '../ir/index.ts';

/** One tapped linear map y = a Pᵀ: the param's path and the sizes of a [rows, in], y [rows, out]. */
export interface LinearTap {
  param: string;
  rows: number;
  in: number;
  out: number;
}

/** The graph output holding a tap's input rows. */
export const tapInputName = (param: string) => `tap.${param}.input`;
/** The named node holding a tap's product; autodiff's `grad.` of it is the output gradient. */
export const tapOutputName = (param: string) => `tap.${param}.output`;

/** A GraphBuilder that taps `a @ P^T` for params P (see the module doc). */
export class LinearTapBuilder extends GraphBuilder {
  private readonly found = new Map<string, { input: Value; output: Value }>();
  private readonly uses = new Map<string, number>();

  override matmul(a: Value, w: Value, options: { transA?: boolean; transB?: boolean } = {}): Value {
    const y = super.matmul(a, w, options);
    const node = this.nodeOf(w);
    if (node.op !== 'input' || node.attrs.role !== 'param' || !options.transB || options.transA || a.shape.length !== 2 || y.shape.length !== 2) return y;
    const name = String(node.attrs.name);
    this.uses.set(name, (this.uses.get(name) ?? 0) + 1);
    if (this.uses.get(name)! > 1) {
      this.found.delete(name);
      return y;
    }
    this.found.set(name, { input: a, output: y });
    return y;
  }

  /** Adds the taps' outputs and names; returns the taps (in the order the forward met them) and the names to differentiate by. */
  finish(): { taps: LinearTap[]; wrt: string[] } {
    const taps: LinearTap[] = [];
    const wrt: string[] = [];
    for (const [param, t] of this.found) {
      this.output(tapInputName(param), t.input);
      this.named(t.output, tapOutputName(param));
      wrt.push(tapOutputName(param));
      taps.push({ param, rows: t.input.shape[0]!, in: t.input.shape[1]!, out: t.output.shape[1]! });
    }
    return { taps, wrt };
  }
}
