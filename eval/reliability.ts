/**
 * Standalone SVG figures: a reliability diagram (accuracy against confidence, per method, with a
 * histogram strip of how many examples fall in each confidence bin) and a bar chart comparing one
 * metric across methods and splits. The output is plain text with every number printed with a fixed
 * number of decimals, so the same input gives the same bytes.
 */
import { eceFromBins, type ReliabilityBin } from './metrics.ts';
import { metricDirection, type MethodResult } from './report.ts';

/** A figure asked of data it cannot draw (non-finite numbers, bins outside [0, 1], nothing to plot). */
export class FigureInputError extends Error {
  override name = 'FigureInputError';
}

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies, fine in grey print. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\"";
const INK = '#222222';
const GRID = '#e4e4e4';

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A coordinate with two decimals; never "NaN" (refused) nor "-0.00". */
function px(x: number): string {
  if (!Number.isFinite(x)) throw new FigureInputError(`non-finite coordinate ${x}`);
  const s = x.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

/** A tick label: as few decimals as the value needs, at most three (0, 0.2, 0.05, 0.125). */
function tickLabel(x: number): string {
  const s = Number(x.toFixed(3)).toString();
  return s === '-0' ? '0' : s;
}

/** A share as a percentage: whole percent from 10% up, one decimal below. */
function shareLabel(share: number): string {
  const pct = share * 100;
  return `${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

/** Rough rendered width of text at a font size, for sizing legend boxes (no font metrics here). */
function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.58;
}

function checkBins(label: string, bins: readonly ReliabilityBin[]): void {
  for (const [i, b] of bins.entries()) {
    const values = [b.lo, b.hi, b.count, b.accuracy, b.confidence];
    if (!values.every(Number.isFinite)) throw new FigureInputError(`series "${label}" bin ${i} has a non-finite value`);
    if (!(b.lo >= 0 && b.lo < b.hi && b.hi <= 1)) {
      throw new FigureInputError(`series "${label}" bin ${i} spans (${b.lo}, ${b.hi}], not a part of (0, 1]`);
    }
    if (b.count < 0) throw new FigureInputError(`series "${label}" bin ${i} has a negative count`);
    if (b.count > 0 && !(b.accuracy >= 0 && b.accuracy <= 1 && b.confidence >= 0 && b.confidence <= 1)) {
      throw new FigureInputError(`series "${label}" bin ${i}: accuracy and confidence must lie in [0, 1]`);
    }
  }
}

export interface ReliabilitySeries {
  label: string;
  bins: ReliabilityBin[];
}

export interface ReliabilityOptions {
  title: string;
  width?: number;
  height?: number;
  /**
   * 'bars' draws each non-empty bin's accuracy as a bar over the bin with the gap to its mean
   * confidence shaded; 'lines' joins (confidence, accuracy) points. Default: bars for one series,
   * lines for several (overlapping bars are unreadable).
   */
  style?: 'bars' | 'lines';
  /** Append "ECE x.xxxx" (computed from the bins) to each legend entry. Default true. */
  showEce?: boolean;
}

/**
 * A reliability diagram as a standalone SVG document. Upper panel: accuracy (y) against confidence
 * (x) on [0, 1]² with the diagonal of perfect calibration; points below it are overconfident.
 * Lower strip: the share of each series' examples in each confidence bin. Shapes carry classes
 * ("bar", "gap", "point", "count") so the figure can be restyled or inspected.
 */
export function reliabilitySvg(series: readonly ReliabilitySeries[], options: ReliabilityOptions): string {
  if (series.length === 0) throw new FigureInputError('no series to draw');
  for (const s of series) checkBins(s.label, s.bins);
  const width = options.width ?? 520;
  const height = options.height ?? 600;
  const style = options.style ?? (series.length === 1 ? 'bars' : 'lines');
  const showEce = options.showEce ?? true;

  // Layout: title, square-ish main panel, a gap, the count strip, then the shared x axis labels.
  const left = 64;
  const right = 20;
  const top = 48;
  const bottom = 52;
  const gap = 14;
  const plotW = width - left - right;
  const stripH = Math.max(48, Math.round((height - top - bottom) * 0.18));
  const plotH = height - top - bottom - gap - stripH;
  if (plotW < 80 || plotH < 80) throw new FigureInputError(`figure ${width}×${height} is too small`);
  const stripTop = top + plotH + gap;
  const x = (v: number) => left + v * plotW;
  const y = (v: number) => top + (1 - v) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${px(width / 2)}" y="26" text-anchor="middle" font-size="16" font-weight="600" fill="${INK}">${escapeXml(options.title)}</text>`,
  );

  // Grid, ticks and axis labels of the main panel.
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  out.push('<g class="grid" stroke="' + GRID + '" stroke-width="1">');
  for (const t of ticks) {
    out.push(`<line x1="${px(x(t))}" y1="${px(top)}" x2="${px(x(t))}" y2="${px(top + plotH)}"/>`);
    out.push(`<line x1="${px(left)}" y1="${px(y(t))}" x2="${px(left + plotW)}" y2="${px(y(t))}"/>`);
  }
  out.push('</g>');
  out.push(`<g class="y-ticks" fill="${INK}" text-anchor="end">`);
  for (const t of ticks) out.push(`<text x="${px(left - 8)}" y="${px(y(t) + 4)}">${tickLabel(t)}</text>`);
  out.push('</g>');
  out.push(
    `<text x="${px(18)}" y="${px(top + plotH / 2)}" transform="rotate(-90 ${px(18)} ${px(top + plotH / 2)})" text-anchor="middle" fill="${INK}">Accuracy</text>`,
  );

  // Per-series marks.
  for (const [si, s] of series.entries()) {
    const color = PALETTE[si % PALETTE.length]!;
    const filled = s.bins.filter((b) => b.count > 0);
    out.push(`<g class="series" data-series="${si}">`);
    if (style === 'bars') {
      for (const b of filled) {
        const x0 = x(b.lo) + 1;
        const w = Math.max(x(b.hi) - x(b.lo) - 2, 0.5);
        out.push(
          `<rect class="bar" x="${px(x0)}" y="${px(y(b.accuracy))}" width="${px(w)}" height="${px(y(0) - y(b.accuracy))}" fill="${color}" fill-opacity="0.8"/>`,
        );
        const hiY = y(Math.max(b.accuracy, b.confidence));
        const loY = y(Math.min(b.accuracy, b.confidence));
        out.push(
          `<rect class="gap" x="${px(x0)}" y="${px(hiY)}" width="${px(w)}" height="${px(loY - hiY)}" fill="#E41A1C" fill-opacity="0.22" stroke="#E41A1C" stroke-opacity="0.6" stroke-width="1"/>`,
        );
      }
    } else {
      if (filled.length > 1) {
        const pts = filled.map((b) => `${px(x(b.confidence))},${px(y(b.accuracy))}`).join(' ');
        out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>`);
      }
      for (const b of filled) {
        out.push(
          `<circle class="point" cx="${px(x(b.confidence))}" cy="${px(y(b.accuracy))}" r="3.5" fill="${color}" stroke="#ffffff" stroke-width="1"/>`,
        );
      }
    }
    out.push('</g>');
  }

  // Perfect calibration on top of the bars, and the panel frame.
  out.push(
    `<line class="diagonal" x1="${px(x(0))}" y1="${px(y(0))}" x2="${px(x(1))}" y2="${px(y(1))}" stroke="#555555" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    `<rect x="${px(left)}" y="${px(top)}" width="${px(plotW)}" height="${px(plotH)}" fill="none" stroke="${INK}" stroke-width="1"/>`,
  );

  // Count strip: per bin, one thin bar per series, height = that series' share of its examples.
  const shares = series.map((s) => {
    const total = s.bins.reduce((acc, b) => acc + b.count, 0);
    return s.bins.map((b) => (total > 0 ? b.count / total : 0));
  });
  const maxShare = Math.max(...shares.flat(), 0);
  const stripScale = maxShare > 0 ? maxShare : 1;
  const sy = (share: number) => stripTop + stripH - (share / stripScale) * stripH;
  out.push(`<g class="strip-grid" stroke="${GRID}" stroke-width="1">`);
  for (const t of ticks) out.push(`<line x1="${px(x(t))}" y1="${px(stripTop)}" x2="${px(x(t))}" y2="${px(stripTop + stripH)}"/>`);
  out.push('</g>');
  for (const [si, s] of series.entries()) {
    const color = PALETTE[si % PALETTE.length]!;
    out.push(`<g class="counts" data-series="${si}" fill="${color}">`);
    for (const [bi, b] of s.bins.entries()) {
      if (b.count === 0) continue;
      const slot = (x(b.hi) - x(b.lo) - 2) / series.length;
      const x0 = x(b.lo) + 1 + si * slot;
      const h = stripTop + stripH - sy(shares[si]![bi]!);
      out.push(
        `<rect class="count" x="${px(x0)}" y="${px(stripTop + stripH - h)}" width="${px(Math.max(slot, 0.5))}" height="${px(h)}"><title>${escapeXml(s.label)}: ${b.count} in (${tickLabel(b.lo)}, ${tickLabel(b.hi)}]</title></rect>`,
      );
    }
    out.push('</g>');
  }
  out.push(
    `<rect x="${px(left)}" y="${px(stripTop)}" width="${px(plotW)}" height="${px(stripH)}" fill="none" stroke="${INK}" stroke-width="1"/>`,
    `<text x="${px(left - 8)}" y="${px(stripTop + 10)}" text-anchor="end" font-size="10" fill="${INK}">${shareLabel(maxShare)}</text>`,
    `<text x="${px(left - 8)}" y="${px(stripTop + stripH)}" text-anchor="end" font-size="10" fill="${INK}">0</text>`,
    `<text x="${px(18)}" y="${px(stripTop + stripH / 2)}" transform="rotate(-90 ${px(18)} ${px(stripTop + stripH / 2)})" text-anchor="middle" font-size="10" fill="${INK}">Share</text>`,
  );

  // Shared x axis under the strip.
  out.push(`<g class="x-ticks" fill="${INK}" text-anchor="middle">`);
  for (const t of ticks) out.push(`<text x="${px(x(t))}" y="${px(stripTop + stripH + 16)}">${tickLabel(t)}</text>`);
  out.push('</g>');
  out.push(
    `<text x="${px(left + plotW / 2)}" y="${px(height - 12)}" text-anchor="middle" fill="${INK}">Confidence (max probability)</text>`,
  );

  // Legend, top left inside the panel: the corner that overconfident curves (below the diagonal) leave empty.
  const entries = series.map((s, si) => {
    const hasData = s.bins.some((b) => b.count > 0);
    const text = showEce && hasData ? `${s.label} (ECE ${eceFromBins(s.bins).toFixed(4)})` : s.label;
    return { text, color: PALETTE[si % PALETTE.length]! };
  });
  if (style === 'bars') entries.push({ text: 'Gap to confidence', color: '#F8C6C6' });
  const lineH = 18;
  const legendW = 34 + Math.max(...entries.map((e) => textWidth(e.text, 12)), textWidth('Perfect calibration', 12));
  const legendH = 8 + lineH * (entries.length + 1);
  const lx = left + 10;
  const ly = top + 10;
  out.push(`<g class="legend">`);
  out.push(
    `<rect x="${px(lx)}" y="${px(ly)}" width="${px(legendW)}" height="${px(legendH)}" fill="#ffffff" fill-opacity="0.9" stroke="#cccccc" rx="3"/>`,
  );
  for (const [i, e] of entries.entries()) {
    const cy = ly + 4 + lineH * i + lineH / 2;
    out.push(
      `<rect x="${px(lx + 8)}" y="${px(cy - 5)}" width="16" height="10" fill="${e.color}"/>`,
      `<text x="${px(lx + 30)}" y="${px(cy + 4)}" fill="${INK}">${escapeXml(e.text)}</text>`,
    );
  }
  const dy = ly + 4 + lineH * entries.length + lineH / 2;
  out.push(
    `<line x1="${px(lx + 8)}" y1="${px(dy)}" x2="${px(lx + 24)}" y2="${px(dy)}" stroke="#555555" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    `<text x="${px(lx + 30)}" y="${px(dy + 4)}" fill="${INK}">Perfect calibration</text>`,
  );
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Tick step of 1, 2 or 5 × 10^k giving about `target` intervals over `span`. */
function niceStep(span: number, target = 5): number {
  const raw = span / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const m = raw / magnitude;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * magnitude;
}

export interface MetricBarsOptions {
  title?: string;
  width?: number;
  height?: number;
  /** Decimals of the value printed over each bar (default 3). */
  digits?: number;
}

/**
 * One metric compared across methods and splits: a group of bars per split (first-appearance
 * order), one colour per method, the value printed above each bar. Missing values are left out.
 */
export function metricBarsSvg(
  results: readonly MethodResult[],
  metric: string,
  options: MetricBarsOptions = {},
): string {
  const rows = results.filter((r) => r.metrics[metric] !== undefined);
  if (rows.length === 0) throw new FigureInputError(`no result has metric "${metric}"`);
  for (const r of rows) {
    if (!Number.isFinite(r.metrics[metric]!)) {
      throw new FigureInputError(`${r.method} on ${r.split}: ${metric} is ${r.metrics[metric]}`);
    }
  }
  const methods = [...new Set(results.map((r) => r.method))];
  const splits = [...new Set(rows.map((r) => r.split))];
  const width = options.width ?? Math.max(360, 120 + splits.length * (methods.length * 36 + 40));
  const height = options.height ?? 360;
  const digits = options.digits ?? 3;
  const direction = metricDirection(metric);
  const title = options.title ?? (direction ? `${metric} (${direction} is better)` : metric);

  const values = rows.map((r) => r.metrics[metric]!);
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const step = niceStep(hi - lo > 0 ? hi - lo : 1);
  const yMin = Math.floor(lo / step + 1e-9) * step;
  const yMax = Math.max(Math.ceil(hi / step - 1e-9) * step, yMin + step);

  const left = 64;
  const right = 20;
  const top = 56 + 18 * Math.ceil(methods.length / 4); // room for the legend rows
  const bottom = 40;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  if (plotW < 80 || plotH < 60) throw new FigureInputError(`figure ${width}×${height} is too small`);
  const y = (v: number) => top + ((yMax - v) / (yMax - yMin)) * plotH;
  const groupW = plotW / splits.length;
  const barW = Math.min(36, (groupW * 0.8) / methods.length);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${px(width / 2)}" y="26" text-anchor="middle" font-size="16" font-weight="600" fill="${INK}">${escapeXml(title)}</text>`,
  );
  out.push(`<g class="grid" stroke="${GRID}" stroke-width="1">`);
  const tickValues: number[] = [];
  for (let k = 0; yMin + k * step <= yMax + step * 1e-9; k++) tickValues.push(yMin + k * step);
  for (const t of tickValues) out.push(`<line x1="${px(left)}" y1="${px(y(t))}" x2="${px(left + plotW)}" y2="${px(y(t))}"/>`);
  out.push('</g>');
  out.push(`<g class="y-ticks" fill="${INK}" text-anchor="end">`);
  for (const t of tickValues) out.push(`<text x="${px(left - 8)}" y="${px(y(t) + 4)}">${tickLabel(t)}</text>`);
  out.push('</g>');
  out.push(
    `<text x="${px(18)}" y="${px(top + plotH / 2)}" transform="rotate(-90 ${px(18)} ${px(top + plotH / 2)})" text-anchor="middle" fill="${INK}">${escapeXml(metric)}</text>`,
  );

  for (const [gi, split] of splits.entries()) {
    const cx = left + groupW * (gi + 0.5);
    const x0 = cx - (barW * methods.length) / 2;
    out.push(`<g class="split" data-split="${escapeXml(split)}">`);
    for (const [mi, method] of methods.entries()) {
      const r = rows.find((row) => row.split === split && row.method === method);
      if (!r) continue;
      const v = r.metrics[metric]!;
      const bx = x0 + mi * barW;
      const yTop = y(Math.max(v, 0));
      const h = Math.abs(y(v) - y(0));
      out.push(
        `<rect class="bar" x="${px(bx + 1)}" y="${px(yTop)}" width="${px(barW - 2)}" height="${px(h)}" fill="${PALETTE[mi % PALETTE.length]}"><title>${escapeXml(`${method} on ${split}: ${v}`)}</title></rect>`,
        `<text x="${px(bx + barW / 2)}" y="${px(v >= 0 ? yTop - 4 : y(v) + 12)}" text-anchor="middle" font-size="10" fill="${INK}">${v.toFixed(digits)}</text>`,
      );
    }
    out.push('</g>');
    out.push(`<text x="${px(cx)}" y="${px(top + plotH + 18)}" text-anchor="middle" fill="${INK}">${escapeXml(split)}</text>`);
  }
  out.push(
    `<line x1="${px(left)}" y1="${px(y(0))}" x2="${px(left + plotW)}" y2="${px(y(0))}" stroke="${INK}" stroke-width="1"/>`,
    `<rect x="${px(left)}" y="${px(top)}" width="${px(plotW)}" height="${px(plotH)}" fill="none" stroke="${INK}" stroke-width="1"/>`,
  );

  // Legend rows above the panel, four methods per row.
  out.push('<g class="legend">');
  const colW = plotW / Math.min(4, methods.length);
  for (const [mi, method] of methods.entries()) {
    const lx = left + (mi % 4) * colW;
    const ly = 52 + 18 * Math.floor(mi / 4);
    out.push(
      `<rect x="${px(lx)}" y="${px(ly - 9)}" width="14" height="10" fill="${PALETTE[mi % PALETTE.length]}"/>`,
      `<text x="${px(lx + 20)}" y="${px(ly)}" fill="${INK}">${escapeXml(method)}</text>`,
    );
  }
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
