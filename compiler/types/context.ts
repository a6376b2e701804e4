import type * as A from '../syntax/ast.ts';
import { type SourceDiagnostic as Diagnostic, type DiagnosticNote, error } from '../syntax/diagnostic.ts';
import type { Span } from '../syntax/span.ts';
import type { Dim } from './dim.ts';
import type { TensorType } from './tensor-type.ts';
import type { TypedAdapter, TypedBlock, TypedFn, TypedPosterior } from './typed-program.ts';

/*
 * Shared state of one check: the declarations in scope (the file and its imports), diagnostics,
 * the per-declaration symbol tables built so far, and how often each op is used.
 */

export type TopDecl = A.AdapterDecl | A.BlockDecl | A.PosteriorDecl | A.FinetuneDecl;

/** A fn's interface as callers see it: parameter types and result, in the declaration's sizes. */
export interface FnSig {
  params: { name: string; type: TensorType }[];
  returns: TensorType;
  /** Sizes bound by the parameters (vary per call). */
  locals: Set<string>;
}

export interface FnInfo {
  kind: 'fn';
  ast: A.FnMember;
  state: 'new' | 'checking' | 'done';
  /** Undefined when the fn's own signature or body had errors. */
  sig?: FnSig;
  typed?: TypedFn;
}

export type MemberInfo =
  | { kind: 'tensor'; trainable: boolean; type: TensorType; path: string; span: Span }
  | { kind: 'linear'; out: Dim; in: Dim; bias: boolean; path: string; span: Span }
  | { kind: 'instance'; block: string; body: BodyInfo | undefined; dims: Map<string, Dim>; scalars: Map<string, number>; path: string; span: Span }
  | FnInfo;

export interface ScalarInfo {
  elem: 'f32' | 'i32';
  default?: number;
  span: Span;
}

/** The symbol table of an adapter, block or model. */
export interface BodyInfo {
  decl: A.AdapterDecl | A.BlockDecl;
  /** Every size in scope at declaration level (params, target dims, derived), derived ones in terms of the others. */
  dims: Map<string, Dim>;
  /** The names of `dim` parameters, in order (what an instance must bind). */
  dimParams: { name: string; default?: Dim; span: Span }[];
  scalars: Map<string, ScalarInfo>;
  /** Members by path; fns by name. */
  members: Map<string, MemberInfo>;
  /** The adapter's target weight. */
  target?: { name: string; out: Dim; in: Dim; dims: string[] };
  /** Members whose declaration had errors: uses are silent, so one mistake gives one message. */
  broken: Set<string>;
  state: 'checking' | 'done';
  typed?: TypedAdapter | TypedBlock;
}

export class CheckContext {
  readonly diagnostics: Diagnostic[] = [];
  readonly decls = new Map<string, TopDecl>();
  readonly bodies = new Map<string, BodyInfo>();
  readonly posteriors = new Map<string, TypedPosterior>();
  readonly ops = new Map<string, number>();
  private nextLocal = 0;

  error(message: string, span: Span, notes?: DiagnosticNote[]): void {
    this.diagnostics.push(error(message, span, notes));
  }

  useOp(op: string): void {
    this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
  }

  localId(): number {
    return this.nextLocal++;
  }
}
