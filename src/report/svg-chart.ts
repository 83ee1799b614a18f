import { escapeHtml } from './escape.js';

/**
 * A small inline SVG line chart of one figure over time: no script, no fonts or styles from
 * anywhere, so the page that holds it opens offline. Points carry a <title> (shown on hover)
 * and alerted ones are drawn larger and red (class `alert`).
 */

export interface ChartPoint {
  /** Milliseconds since the epoch. */
  t: number;
  v: number;
  /** Hover text (escaped here). */
  label: string;
  alert?: boolean;
}

export interface ChartLine {
  name: string;
  color: string;
  points: ChartPoint[];
}

export interface ChartOptions {
  title: string;
  lines: ChartLine[];
  /** How a value is written on the axis. */
  format: (v: number) => string;
  /** Attributes for the <svg> (e.g. data-series), escaped here. */
  attrs?: Record<string, string>;
  width?: number;
  height?: number;
}

const M = { left: 70, right: 16, top: 26, bottom: 30 };

export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 560;
  const height = o.height ?? 200;
  const all = o.lines.flatMap((l) => l.points);
  const tMin = Math.min(...all.map((p) => p.t));
  const tMax = Math.max(...all.map((p) => p.t));
  const vMax = Math.max(0, ...all.map((p) => p.v));
  const plotW = width - M.left - M.right;
  const plotH = height - M.top - M.bottom;
  // One backup (or all at one time) sits in the middle; a flat zero line sits on the axis.
  const x = (t: number) => M.left + (tMax > tMin ? ((t - tMin) / (tMax - tMin)) * plotW : plotW / 2);
  const y = (v: number) => M.top + plotH - (vMax > 0 ? (v / vMax) * plotH : 0);
  const f = (n: number) => n.toFixed(1);
  const attrs = Object.entries(o.attrs ?? {})
    .map(([k, v]) => ` ${k}="${escapeHtml(v)}"`)
    .join('');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"${attrs}>`);
  out.push(`<title>${escapeHtml(o.title)}</title>`);
  out.push(`<text x="${M.left}" y="16" class="chart-title">${escapeHtml(o.title)}</text>`);
  // Axes, the top value and the time span.
  out.push(`<line class="axis" x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + plotH}"/>`);
  out.push(`<line class="axis" x1="${M.left}" y1="${M.top + plotH}" x2="${M.left + plotW}" y2="${M.top + plotH}"/>`);
  out.push(`<text class="tick" x="${M.left - 6}" y="${M.top + 4}" text-anchor="end">${escapeHtml(o.format(vMax))}</text>`);
  out.push(`<text class="tick" x="${M.left - 6}" y="${M.top + plotH}" text-anchor="end">${escapeHtml(o.format(0))}</text>`);
  if (all.length) {
    out.push(`<text class="tick" x="${M.left}" y="${height - 8}">${escapeHtml(day(tMin))}</text>`);
    if (tMax > tMin) out.push(`<text class="tick" x="${M.left + plotW}" y="${height - 8}" text-anchor="end">${escapeHtml(day(tMax))}</text>`);
  }
  for (const l of o.lines) {
    if (!l.points.length) continue;
    const pts = [...l.points].sort((a, b) => a.t - b.t);
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${f(x(p.t))},${f(y(p.v))}`).join(' ');
    out.push(`<path class="line" data-line="${escapeHtml(l.name)}" d="${d}" fill="none" stroke="${escapeHtml(l.color)}" stroke-width="2"/>`);
    for (const p of pts) {
      const cls = p.alert ? 'point alert' : 'point';
      const r = p.alert ? 6 : 3.5;
      const fill = p.alert ? '#d1242f' : l.color;
      out.push(`<circle class="${cls}" cx="${f(x(p.t))}" cy="${f(y(p.v))}" r="${r}" fill="${fill}"><title>${escapeHtml(p.label)}</title></circle>`);
    }
  }
  // A legend when there is more than one line.
  if (o.lines.length > 1) {
    let lx = M.left + plotW;
    for (const l of [...o.lines].reverse()) {
      const w = 14 + l.name.length * 7;
      lx -= w + 10;
      out.push(`<rect x="${lx}" y="8" width="10" height="10" fill="${escapeHtml(l.color)}"/><text class="tick" x="${lx + 14}" y="17">${escapeHtml(l.name)}</text>`);
    }
  }
  out.push('</svg>');
  return out.join('');
}

function day(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}
