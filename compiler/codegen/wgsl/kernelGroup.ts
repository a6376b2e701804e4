/**
 * WGSL for several elementwise results computed by one kernel over one iteration space of n
 * elements (the largest member's count): invocation i computes every member's value at i, in order, and stores it. A member
 * either writes element i of its own buffer (`out[i] = value(i)`), or writes element i of one row
 * of a [K, n] buffer, the row its `index` body names (a ring-buffer write: only that row is
 * touched). Buffers are bound once each; a buffer some member writes is `read_write` and may be
 * read by the kernel only at element i (a later member then sees the earlier member's store:
 * program order within one invocation), which is how an in-place update reads its old value and
 * a later member reads an earlier one's new value. `groupKernel` returns undefined when a member
 * would read a written buffer anywhere else (the caller then launches the members apart).
 */
import { FLAT_WORKGROUP_WGSL, packParams, type ParamField } from '../../../kernels/params.ts';
import { ceilDiv, foldGrid } from '../../../abi/grid.ts';
import type { BindingKind } from '../../../abi/kernel.ts';
import { printBody, type FusedBody, type TypeInfo } from '../../ir/index.ts';
import { ELEMENTWISE_WORKGROUP, bodyFunction, uniqueHelpers, type BodyFunction, type EmittedKernel } from './elementwise.ts';

export interface GroupMemberKernel {
  /** The value (element i of the result), or the row of a row write. */
  readonly body: FusedBody;
  /** For a row write: the body computing the row's index (an f32 scalar). */
  readonly index?: FusedBody;
  /** Buffers the bodies read, as operands $0, $1, ... with their types. */
  readonly operands: readonly number[];
  readonly types: readonly TypeInfo[];
  /** Elements it computes (the kernel runs over the largest count; a member with fewer skips the rest). */
  readonly n: number;
  /** The buffer written, and for a row write its row count K (the buffer is [K, n]). */
  readonly out: number;
  readonly outDtype: 'f32' | 'i32';
  readonly rows?: number;
}

export interface GroupKernel extends EmittedKernel {
  /** The buffers bound, in binding order (the uniform comes last). */
  readonly buffers: readonly number[];
}

export function groupKernel(members: readonly GroupMemberKernel[], label: string, maxWorkgroupsPerDimension: number): GroupKernel | undefined {
  const n = Math.max(...members.map((m) => m.n));
  const buffers: number[] = [];
  const dtypes: ('f32' | 'i32')[] = [];
  const slot = (b: number, dtype: 'f32' | 'i32'): number => {
    let k = buffers.indexOf(b);
    if (k < 0) {
      k = buffers.push(b) - 1;
      dtypes.push(dtype);
    }
    return k;
  };
  members.forEach((m) => m.operands.forEach((b, k) => slot(b, m.types[k]!.dtype)));
  const written = new Map<number, 'element' | 'row'>();
  for (const m of members) {
    if (written.has(m.out)) return undefined;
    slot(m.out, m.outDtype);
    written.set(m.out, m.rows === undefined ? 'element' : 'row');
  }
  const name = (b: number) => `b${buffers.indexOf(b)}`;

  const fns: BodyFunction[] = [];
  const lines: string[] = [];
  // Row indices are the same for every element; each invocation computes them once, before any
  // store (a workgroup barrier to share them cost more than the few flops on llvmpipe).
  const rowIndices: number[] = [];
  const fields: [string, number][] = [['n', n]];
  members.forEach((m, k) => {
    const arrayName = (op: number) => name(m.operands[op]!);
    const value = bodyFunction(m.body, m.types, { name: `m${k}_value`, prefix: `m${k}_`, arrayName });
    fns.push(value);
    fields.push(...value.fields.map(([f, v]): [string, number] => [f, v]));
    const guard = m.n < n;
    if (guard) {
      fields.push([`m${k}_n`, m.n]);
      lines.push(`if (i < params.m${k}_n) {`);
    }
    const indent = guard ? '  ' : '';
    if (m.rows === undefined) {
      lines.push(`${indent}let m${k}_out = m${k}_value(i);`, `${indent}${name(m.out)}[i] = m${k}_out;`, `${indent}@AT:${name(m.out)}@ = m${k}_out;`);
      if (guard) lines.push('}');
      return;
    }
    const index = bodyFunction(m.index!, m.types, { name: `m${k}_index`, prefix: `m${k}_ix_`, arrayName });
    fns.push(index);
    fields.push(...index.fields.map(([f, v]): [string, number] => [f, v]));
    fields.push([`m${k}_rows`, m.rows]);
    // The index is a scalar: its body is evaluated at element 0.
    fields.push([`m${k}_cols`, m.n]);
    rowIndices.push(k);
    lines.push(
      ...[
        `if (m${k}_row >= 0.0 && m${k}_row < f32(params.m${k}_rows) && floor(m${k}_row) == m${k}_row) {`,
        `  ${name(m.out)}[u32(m${k}_row) * params.m${k}_cols + i] = m${k}_value(i);`,
        '}',
      ].map((l) => indent + l),
    );
    if (guard) lines.push('}');
  });

  // A written buffer may be read only at element i (an element write), or not at all (a row write).
  for (const [b, how] of written) {
    const re = new RegExp(`\\b${name(b)}\\[([^\\]]*)\\]`, 'g');
    for (const f of fns) {
      for (const match of f.fn.matchAll(re)) if (how === 'row' || match[1] !== 'i') return undefined;
    }
  }

  // Element i of each buffer is loaded once per invocation into a private variable (and kept
  // up to date by the members that store it), not once per member that reads it: llvmpipe does
  // not merge loads across the stores in between.
  // Only the value functions, called at element i (an index function is called at element 0).
  const isValue = (f: BodyFunction) => /^fn m\d+_value\(/m.test(f.fn);
  const atNames = buffers.map((_, k) => `b${k}`).filter((b) => fns.some((f) => isValue(f) && f.fn.includes(`${b}[i]`)));
  const memberFns = fns.map((f) => (isValue(f) ? atNames.reduce((text, b) => text.split(`${b}[i]`).join(`at_${b}`), f.fn) : f.fn));
  const body = lines.flatMap((l) => {
    const at = /^(\s*)@AT:(b\d+)@ = (.*)$/.exec(l);
    if (!at) return [l];
    return atNames.includes(at[2]!) ? [`${at[1]}at_${at[2]} = ${at[3]}`] : [];
  });
  // A read-only scalar (SWAG's n: read at element 0 by a value, or by a row index, which is
  // evaluated at element 0) is loaded once per invocation, before any store: after a store to
  // another storage buffer llvmpipe cannot prove it unchanged and loads it again at every use.
  const isIndex = (f: string) => /^fn m\d+_index\(/m.test(f);
  const scalarRead = (f: string, b: string) => (isIndex(f) ? `${b}[i]` : `${b}[0u]`);
  const scalarNames = buffers.map((_, k) => `b${k}`).filter((b) => !written.has(buffers[Number(b.slice(1))]!) && memberFns.some((f) => f.includes(scalarRead(f, b))));
  const valueFns = memberFns.map((f) => scalarNames.reduce((text, b) => text.split(scalarRead(f, b)).join(`sc_${b}`), f));
  const loads = [
    ...scalarNames.map((b) => `sc_${b} = ${b}[0u];`),
    ...rowIndices.map((k) => `let m${k}_row = m${k}_index(0u);`),
    ...atNames.map((b) => `at_${b} = ${b}[i];`),
  ];
  const bindings = buffers.map((b, k) => {
    const access = written.has(b) ? 'read_write' : 'read';
    return `@group(0) @binding(${k}) var<storage, ${access}> ${name(b)}: array<${dtypes[k]}>;`;
  });
  bindings.push(`@group(0) @binding(${buffers.length}) var<uniform> params: Params;`);
  const describe = members.map((m, k) => `// m${k}: ${m.rows === undefined ? 'b' : `row write into b`}${buffers.indexOf(m.out)}${m.rows === undefined ? '[i]' : ` [${m.rows}, ${m.n}]`} = ${printBody(m.body)}${m.index ? ` at row ${printBody(m.index)}` : ''}`).join('\n');
  const wgsl = [
    `// swaglet kernel group: ${members.length} result${members.length === 1 ? '' : 's'} over ${n} elements, one invocation per element\n${describe}`,
    `struct Params {\n${fields.map(([f]) => `  ${f}: u32,`).join('\n')}\n}`,
    bindings.join('\n'),
    FLAT_WORKGROUP_WGSL.trim(),
    ...uniqueHelpers(...fns.map((f) => f.helpers)),
    ...scalarNames.map((b) => `var<private> sc_${b}: ${dtypes[Number(b.slice(1))]!};`),
    ...atNames.map((b) => `var<private> at_${b}: ${dtypes[Number(b.slice(1))]!};`),
    ...valueFns,
    `@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,\n        @builtin(local_invocation_index) lid: u32) {\n` +
      `  let i = flat_workgroup(wid, nwg) * ${ELEMENTWISE_WORKGROUP}u + lid;\n  if (i >= params.n) { return; }\n${[...loads, ...body].map((l) => `  ${l}`).join('\n')}\n}`,
  ].join('\n\n');
  const kinds: BindingKind[] = [...buffers.map((b): BindingKind => (written.has(b) ? 'read_write' : 'read')), 'uniform'];
  return {
    spec: { label, wgsl: `${wgsl}\n`, bindings: kinds },
    uniform: packParams(fields.map(([, v]): ParamField => ({ u32: v }))),
    workgroups: foldGrid(ceilDiv(n, ELEMENTWISE_WORKGROUP), maxWorkgroupsPerDimension),
    buffers,
  };
}
