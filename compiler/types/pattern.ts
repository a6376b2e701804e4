/**
 * Target patterns of `adapt`: a layer path with `*` standing for any run of characters, dots
 * included, matched against the whole path (`layers.*.attn.qkv`, `*.ffn.*`, `fc*`).
 */
export function patternToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

export function matchesPattern(pattern: string, path: string): boolean {
  return patternToRegExp(pattern).test(path);
}

/**
 * Patterns a user may have meant, derived from the real paths: each path, the path with its
 * numbered segments as `*`, and for a pattern with a leading or trailing `*` segment, the
 * matching suffixes/prefixes.
 */
export function patternCandidates(pattern: string, paths: string[]): string[] {
  const out = new Set<string>();
  const n = pattern.split('.').length;
  for (const p of paths) {
    out.add(p);
    const segs = p.split('.');
    const starred = segs.map((s) => (/^\d+$/.test(s) ? '*' : s));
    out.add(starred.join('.'));
    if (pattern.startsWith('*.') && segs.length >= n - 1) out.add(`*.${segs.slice(segs.length - (n - 1)).join('.')}`);
    if (pattern.endsWith('.*') && segs.length >= n - 1) out.add(`${starred.slice(0, n - 1).join('.')}.*`);
  }
  return [...out];
}
