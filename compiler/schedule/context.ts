/**
 * The state a schedule is built in: logical buffers, which buffer holds each node's value, and
 * the launches so far. Lowerings (lower*.ts) ask it for operand buffers, result and scratch
 * buffers, and append launches; it knows nothing about any op.
 */
import { formatSpan, type Graph, type Node } from '../ir/index.ts';
import type { EmittedKernel } from '../codegen/wgsl/elementwise.ts';
import { DEFAULT_LIMITS, type BufferRole, type Launch, type ScheduleLimits, type ScheduleOptions, type ScheduledBuffer, type Target } from './types.ts';

export class ScheduleContext {
  readonly buffers: ScheduledBuffer[] = [];
  readonly launches: Launch[] = [];
  readonly target: Target;
  readonly limits: ScheduleLimits;
  private readonly bufferOfNode = new Map<number, number>();

  constructor(
    readonly graph: Graph,
    readonly options: ScheduleOptions,
    /** Makes the buffer of a node that has none yet (sources are materialised on first use). */
    private readonly materialize: (ctx: ScheduleContext, node: Node) => void,
  ) {
    this.target = options.target ?? 'cpu';
    this.limits = options.limits ?? DEFAULT_LIMITS;
  }

  get maxWorkgroups(): number {
    return this.limits.maxComputeWorkgroupsPerDimension;
  }

  /** A new logical buffer. */
  newBuffer(name: string, shape: readonly number[], dtype: 'f32' | 'i32', role: BufferRole, init?: readonly number[]): number {
    const id = this.buffers.length;
    this.buffers.push({ id, name, shape: [...shape], dtype, role, ...(init ? { init: [...init] } : {}) });
    return id;
  }

  /** Scratch space for a lowering (e.g. partial sums). */
  temp(node: Node, what: string, shape: readonly number[], dtype: 'f32' | 'i32' = 'f32'): number {
    return this.newBuffer(`${nodeName(node)}.${what}`, shape, dtype, 'temp');
  }

  /** The buffer holding node `id`'s value, materialising it (a source) when it has none. */
  buffer(id: number): number {
    let b = this.bufferOfNode.get(id);
    if (b === undefined) {
      this.materialize(this, this.graph.nodes[id]!);
      b = this.bufferOfNode.get(id);
      if (b === undefined) throw new Error(`schedule: %${id} (${this.graph.nodes[id]!.op}) has no buffer`);
    }
    return b;
  }

  hasBuffer(id: number): boolean {
    return this.bufferOfNode.has(id);
  }

  /** The buffer a node's result is written to (a new temp on first call). */
  result(node: Node): number {
    let b = this.bufferOfNode.get(node.id);
    if (b === undefined) {
      b = this.newBuffer(nodeName(node), node.shape, node.dtype, 'temp');
      this.bufferOfNode.set(node.id, b);
    }
    return b;
  }

  /** Makes `node`'s value live in an existing buffer (a reshape, a no-op reduction). */
  alias(node: Node, buffer: number): void {
    this.bufferOfNode.set(node.id, buffer);
  }

  /** Appends a launch: storage bindings `buffers` in order, then the uniform. */
  launch(kernel: EmittedKernel, buffers: readonly number[], label: string): void {
    this.launches.push({
      spec: kernel.spec,
      args: [...buffers.map((buffer) => ({ buffer })), { uniform: kernel.uniform }],
      workgroups: kernel.workgroups,
      label,
    });
  }
}

/** A buffer name for a node: its readable name, else its id. */
export function nodeName(node: Node): string {
  return node.name !== undefined ? `${node.name}%${node.id}` : `%${node.id}`;
}

/** What a launch computes, for kernel labels and error messages: `matmul %7 @ lora.swag:6:12`. */
export function nodeLabel(node: Node, what?: string): string {
  const op = what ? `${node.op}.${what}` : node.op;
  return `${op} ${nodeName(node)}${node.span ? ` @ ${formatSpan(node.span)}` : ''}`;
}
