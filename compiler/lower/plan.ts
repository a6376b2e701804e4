/**
 * What the lowering knows about a network before it builds any graph: every scope (the root
 * declaration, each block instance, each adapter attachment) with its sizes bound, every tensor
 * with its numeric shape and role, every linear layer. Building a graph is then a walk over the
 * entry fn with these tables; the forward and the training graph come from the same plan.
 */
import type { DType } from '../ir/index.ts';
import type { Span as SourceSpan } from '../syntax/span.ts';
import type { Init, TypedAdapter, TypedBlock, TypedFn, TypedPosterior } from '../types/typed-program.ts';
import type { DimEnv } from './bindDims.ts';

/** A declaration in place: its sizes and scalars bound, the path prefix of its tensors. */
export interface OwnerScope {
  readonly decl: TypedAdapter | TypedBlock;
  /** For messages: "adapter LoRA on fc1", "block EncoderLayer at layers.0", "model MlpClassifier". */
  readonly what: string;
  /** Prepended to the declaration's own paths: '' at the root, 'layers.0.' in an instance, 'fc1.' for an adapter on fc1. */
  readonly prefix: string;
  readonly env: DimEnv;
  readonly scalars: Readonly<Record<string, number>>;
  /** For adapters: the full path of the target weight `W` (`fc1.weight`, or `W` for a lone adapter). */
  readonly target?: string;
  readonly span: SourceSpan;
}

/** A tensor of the network: a graph input of every graph that uses it. */
export interface TensorPlan {
  /** Full path: the graph input's name and the checkpoint key (`fc1.A`, `layers.0.ln1.gamma`, `fc1.weight`). */
  readonly path: string;
  readonly shape: number[];
  readonly dtype: DType;
  /** `param`: trainable, in theta; `frozen`: base weights, linear weights, seeded frozen adapter tensors. */
  readonly role: 'param' | 'frozen';
  readonly init: Init;
  readonly span: SourceSpan;
  /** The scope the tensor is declared in (its initializer expression is lowered there). */
  readonly owner: OwnerScope;
}

export interface LinearPlan {
  readonly path: string;
  readonly out: number;
  readonly in: number;
  readonly bias: boolean;
  readonly span: SourceSpan;
}

/** A data input of the entry fn (`x`, `ids`, `mask`). */
export interface DataInputPlan {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: DType;
  readonly span: SourceSpan;
}

export interface NetworkPlan {
  readonly kind: 'adapter' | 'model' | 'finetune';
  readonly name: string;
  readonly root: OwnerScope;
  /** The entry fn and the scope of its per-call sizes (`n`, `b`, `t`). */
  readonly fn: TypedFn;
  readonly fnEnv: DimEnv;
  readonly data: DataInputPlan[];
  /** Every tensor: the params in theta order, then the frozen ones in declaration order. */
  readonly tensors: TensorPlan[];
  readonly linears: ReadonlyMap<string, LinearPlan>;
  /** Adapter scopes by the full path of the layer they replace. */
  readonly attachments: ReadonlyMap<string, OwnerScope & { readonly decl: TypedAdapter }>;
  /** Block-instance scopes by full path. */
  readonly instances: ReadonlyMap<string, OwnerScope & { readonly decl: TypedBlock }>;
  /** Where a loss and other whole-graph nodes point: the finetune, model or adapter declaration. */
  readonly span: SourceSpan;
}

/** A posterior with its sizes and scalars bound, over p parameters. */
export interface PosteriorPlan {
  readonly decl: TypedPosterior;
  readonly p: number;
  readonly env: DimEnv;
  readonly scalars: Readonly<Record<string, number>>;
}
