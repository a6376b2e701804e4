import { describe, expect, it } from 'vitest';
import { reliabilityBins, type ReliabilityBin } from '../../eval/metrics.ts';
import { escapeXml, FigureInputError, metricBarsSvg, reliabilitySvg } from '../../eval/reliability.ts';
import type { MethodResult } from '../../eval/report.ts';
import { rng } from '../helpers/random.ts';

/**
 * A small well-formedness check: every tag parses as name + quoted attributes, tags nest and
 * close in order, one root <svg>, and text and attribute values hold no raw '<' or stray '&'.
 */
function checkWellFormedXml(xml: string): void {
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const checkText = (text: string, where: string) => {
    if (/[<>]/.test(text) || /&/.test(text.replace(entity, ''))) throw new Error(`unescaped text ${where}: ${text}`);
  };
  const stack: string[] = [];
  let roots = 0;
  let last = 0;
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>/g)) {
    checkText(xml.slice(last, m.index), `before ${m[0]}`);
    last = m.index! + m[0].length;
    for (const a of m[3]!.matchAll(/="([^"]*)"/g)) checkText(a[1]!, `in attribute of <${m[2]}>`);
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name!);
    }
  }
  checkText(xml.slice(last), 'at the end');
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

function count(svg: string, cls: string): number {
  return svg.split(`class="${cls}"`).length - 1;
}

/** Random rows with labels drawn from those rows, so the bins are populated unevenly but sensibly. */
function randomBins(seed: number, sharpen: number): ReliabilityBin[] {
  const r = rng(seed);
  const n = 400;
  const c = 3;
  const p = new Float64Array(n * c);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const logits = [r() * 4, r() * 4, r() * 4];
    const z = logits.reduce((s, l) => s + Math.exp(l), 0);
    let u = r() * z;
    let k = 0;
    while (k < c - 1 && u > Math.exp(logits[k]!)) u -= Math.exp(logits[k++]!);
    y.push(k);
    const zs = logits.reduce((s, l) => s + Math.exp(sharpen * l), 0);
    for (let j = 0; j < c; j++) p[i * c + j] = Math.exp(sharpen * logits[j]!) / zs;
  }
  return reliabilityBins(p, y, 15);
}

describe('reliabilitySvg', () => {
  const map = { label: 'MAP', bins: randomBins(1, 2) };
  const swag = { label: 'SWAG <r=8> & friends', bins: randomBins(1, 1) };

  it('draws a well-formed standalone SVG with a bar per non-empty bin for one series', () => {
    const svg = reliabilitySvg([map], { title: 'Reliability' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>\n')).toBe(true);
    checkWellFormedXml(svg);
    const filled = map.bins.filter((b) => b.count > 0).length;
    expect(filled).toBeGreaterThan(3);
    expect(count(svg, 'bar')).toBe(filled);
    expect(count(svg, 'gap')).toBe(filled);
    expect(count(svg, 'count')).toBe(filled);
    expect(count(svg, 'diagonal')).toBe(1);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('draws lines with one point per non-empty bin when there are several series', () => {
    const svg = reliabilitySvg([map, swag], { title: 'two' });
    checkWellFormedXml(svg);
    const filled = [map, swag].map((s) => s.bins.filter((b) => b.count > 0).length);
    expect(count(svg, 'point')).toBe(filled[0]! + filled[1]!);
    expect(count(svg, 'bar')).toBe(0);
    expect(svg.split('<polyline').length - 1).toBe(2);
    expect(count(svg, 'count')).toBe(filled[0]! + filled[1]!);
  });

  it('labels the axes 0..1 and places the diagonal from (0,0) to (1,1)', () => {
    const svg = reliabilitySvg([map], { title: 't', width: 520, height: 600 });
    for (const t of ['0', '0.2', '0.4', '0.6', '0.8', '1']) expect(svg).toContain(`>${t}</text>`);
    // left margin 64, plot width 520−64−20 = 436; the diagonal starts at the panel's bottom-left.
    expect(svg).toMatch(/class="diagonal" x1="64.00" y1="([\d.]+)" x2="500.00" y2="48.00"/);
  });

  it('escapes &, < and > in the title and labels and reports each series’ ECE', () => {
    const svg = reliabilitySvg([swag], { title: 'A & B < C > D' });
    expect(svg).toContain('A &amp; B &lt; C &gt; D');
    expect(svg).toContain('SWAG &lt;r=8&gt; &amp; friends (ECE ');
    expect(svg).not.toContain('<r=8>');
    checkWellFormedXml(svg);
  });

  it('gives the same bytes for the same input', () => {
    expect(reliabilitySvg([map, swag], { title: 'x' })).toBe(
      reliabilitySvg(structuredClone([map, swag]), { title: 'x' }),
    );
  });

  it('draws an all-empty series without NaN and refuses non-finite or out-of-range bins', () => {
    const empty = { label: 'empty', bins: [{ lo: 0, hi: 0.5, count: 0, accuracy: 0, confidence: 0 }] };
    const svg = reliabilitySvg([empty], { title: 'e' });
    checkWellFormedXml(svg);
    expect(svg).not.toMatch(/NaN/);
    const bad = (patch: Partial<ReliabilityBin>) => ({
      label: 'bad',
      bins: [{ lo: 0, hi: 1, count: 1, accuracy: 0.5, confidence: 0.5, ...patch }],
    });
    expect(() => reliabilitySvg([bad({ accuracy: NaN })], { title: 't' })).toThrow(FigureInputError);
    expect(() => reliabilitySvg([bad({ hi: 1.5 })], { title: 't' })).toThrow(/not a part of/);
    expect(() => reliabilitySvg([], { title: 't' })).toThrow(/no series/);
    expect(() => reliabilitySvg([map], { title: 't', width: 100, height: 100 })).toThrow(/too small/);
  });
});

describe('metricBarsSvg', () => {
  const results: MethodResult[] = [
    { method: 'MAP', split: 'test', metrics: { nll: 0.41 } },
    { method: 'SWAG', split: 'test', metrics: { nll: 0.3 } },
    { method: 'MAP', split: 'ood', metrics: { nll: 1.52 } },
    { method: 'SWAG & co', split: 'ood', metrics: { nll: 1.1, ece: 0.02 } },
    { method: 'Ensemble', split: 'ood', metrics: { ece: 0.03 } },
  ];

  it('draws one bar per result that has the metric, with its value printed', () => {
    const svg = metricBarsSvg(results, 'nll');
    checkWellFormedXml(svg);
    expect(count(svg, 'bar')).toBe(4);
    for (const v of ['0.410', '0.300', '1.520', '1.100']) expect(svg).toContain(`>${v}</text>`);
    expect(svg).toContain('nll (lower is better)');
    expect(svg).toContain('SWAG &amp; co');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    expect(metricBarsSvg(results, 'nll')).toBe(svg);
  });

  it('starts the value axis at 0 for non-negative values and refuses a metric nobody has', () => {
    const svg = metricBarsSvg(results, 'ece');
    expect(svg).toContain('>0</text>');
    expect(svg).not.toMatch(/>-/);
    expect(() => metricBarsSvg(results, 'auroc')).toThrow(/no result has metric "auroc"/);
  });
});

describe('the well-formedness check used here', () => {
  it('rejects unclosed, crossed or unescaped markup, so passing it means something', () => {
    expect(() => checkWellFormedXml('<svg><g></svg>')).toThrow();
    expect(() => checkWellFormedXml('<svg><g><a></g></a></svg>')).toThrow();
    expect(() => checkWellFormedXml('<svg>a & b</svg>')).toThrow();
    expect(() => checkWellFormedXml('<svg><text x="<">t</text></svg>')).toThrow();
    expect(() => checkWellFormedXml('<svg/><svg/>')).toThrow();
    expect(() => checkWellFormedXml('<svg><text x="1">a &amp; b</text></svg>')).not.toThrow();
  });
});

describe('escapeXml', () => {
  it('escapes the five XML special characters', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });
});
