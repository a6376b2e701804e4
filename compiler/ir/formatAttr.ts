import type { AttrValue } from './types.ts';

/** A number as IR text: `-0` kept distinct from `0`. */
export function formatNumber(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

/** An attr value as IR text, shared by the graph printer and fused bodies so both read alike. */
export function formatAttr(v: AttrValue): string {
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return String(v);
  return `[${v.map(formatNumber).join(', ')}]`;
}
