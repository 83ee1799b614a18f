import type { History, HistoryRow } from '../core/history.js';
import { formatBytes } from '../shared/format.js';
import { printable } from '../shared/text.js';
import { escapeHtml } from './escape.js';
import { formatSeconds, shortTime } from './history-text.js';
import { lineChart } from './svg-chart.js';

/**
 * `strongbox history --html FILE`: one self-contained page. Its Content-Security-Policy allows
 * nothing to load (no scripts, no requests; only its own inline styles), so it opens from a
 * mail attachment or an artifact on an air-gapped machine and can never call out.
 */

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}
tr.alert td{background:#fff1f0}tr.damaged td{background:#ffebe9;color:#82071e}
.badge{display:inline-block;border-radius:8px;padding:0 6px;font-size:12px;background:#d1242f;color:#fff}
.tag{display:inline-block;border:1px solid #d0d7de;border-radius:8px;padding:0 6px;margin:1px;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart .axis{stroke:#8c959f}.chart .tick{font-size:11px;fill:#57606a}.chart .chart-title{font-size:13px;font-weight:600;fill:#1f2328}
ul.alerts{margin:2px 0;padding-left:18px;color:#82071e}
code{font:12px ui-monospace,monospace}
`;

const COLORS = { stored: '#0969da', plaintext: '#8250df', duration: '#1a7f37' };

const t = (s: string) => escapeHtml(printable(s));

export function historyHtml(h: History, generatedAt: Date): string {
  const out: string[] = [];
  out.push('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">');
  out.push(`<meta http-equiv="Content-Security-Policy" content="${CSP}">`);
  out.push(`<title>Strongbox history: ${t(h.location)}</title><style>${STYLE}</style></head><body>`);
  out.push(`<h1>Strongbox history of <code>${t(h.location)}</code></h1>`);
  const filters = [h.filters.series !== undefined ? `series ${t(h.filters.series)}` : '', h.filters.label !== undefined ? `label ${t(h.filters.label)}` : ''].filter(Boolean);
  out.push(`<p>Series by ${t(h.groupBy)}${filters.length ? `; only ${filters.join(', ')}` : ''}. Generated ${t(generatedAt.toISOString())}.</p>`);
  out.push(totalsTable(h));
  for (const s of h.series) out.push(seriesSection(h, s.series));
  out.push('<h2>Backups</h2>');
  out.push(backupsTable(h.rows));
  out.push('</body></html>\n');
  return out.join('\n');
}

function totalsTable(h: History): string {
  const rows = h.series.map(
    (s) =>
      `<tr data-series="${t(s.series)}"><td>${t(s.seriesShort)}</td><td class="num">${s.backups}</td><td class="num">${formatBytes(s.storedBytes)}</td><td class="num">${formatBytes(s.plaintextBytes)}</td><td class="num">${s.alerts ? `<span class="badge">${s.alerts}</span>` : '0'}</td><td>${t(shortTime(s.first))} … ${t(shortTime(s.last))}</td></tr>`,
  );
  const x = h.totals;
  rows.push(
    `<tr class="total"><th>${h.filters.series !== undefined || h.filters.label !== undefined ? 'Shown' : 'Repository'}</th><th class="num">${x.backups}${x.damaged ? ` (+${x.damaged} damaged)` : ''}</th><th class="num">${formatBytes(x.storedBytes)}</th><th class="num">${formatBytes(x.plaintextBytes)}</th><th class="num">${x.alerts}</th><th>${x.series} series</th></tr>`,
  );
  return `<table class="totals"><thead><tr><th>Series</th><th>Backups</th><th>Stored</th><th>Plaintext</th><th>Alerts</th><th>From … to</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function seriesSection(h: History, series: string): string {
  const rows = h.rows.filter((r) => r.series === series);
  const short = printable(rows[0]?.seriesShort ?? series);
  const point = (r: HistoryRow, v: string, kinds: string[]) => ({
    t: Date.parse(r.time),
    label: printable(`${r.id} ${shortTime(r.time)}: ${v}${r.alerts.length ? ` — ${r.alerts.map((a) => a.message).join('; ')}` : ''}`),
    alert: r.alerts.some((a) => kinds.includes(a.kind)),
  });
  const sizeKinds = ['stored-size', 'plaintext-size', 'rows', 'entries', 'quota'];
  const size = lineChart({
    title: `Size: ${short}`,
    format: formatBytes,
    attrs: { 'data-series': series, 'data-chart': 'size' },
    lines: [
      { name: 'stored', color: COLORS.stored, points: rows.map((r) => ({ ...point(r, formatBytes(r.storedBytes), sizeKinds), v: r.storedBytes })) },
      { name: 'plaintext', color: COLORS.plaintext, points: rows.map((r) => ({ ...point(r, formatBytes(r.plaintextBytes), sizeKinds), v: r.plaintextBytes })) },
    ],
  });
  const duration = lineChart({
    title: `Duration: ${short}`,
    format: formatSeconds,
    attrs: { 'data-series': series, 'data-chart': 'duration' },
    lines: [{ name: 'duration', color: COLORS.duration, points: rows.map((r) => ({ ...point(r, formatSeconds(r.durationSeconds), ['duration']), v: r.durationSeconds })) }],
  });
  const full = short !== series ? `<p>Artifacts: <code>${t(series)}</code></p>` : '';
  return `<section class="series" data-series="${t(series)}"><h2>Series ${t(short)}</h2>${full}<div class="charts">${size}${duration}</div></section>`;
}

function backupsTable(rows: HistoryRow[]): string {
  const body = [...rows].reverse().map((r) => {
    if (r.damaged) {
      return `<tr class="damaged" data-id="${t(r.id)}"><td>${t(shortTime(r.time))}</td><td><code>${t(r.id)}</code></td><td colspan="6"><strong>DAMAGED</strong>: ${t(r.damaged)}</td></tr>`;
    }
    const tags = [...r.labels.map((l) => `<span class="tag">${t(l)}</span>`), ...Object.entries(r.metadata).map(([k, v]) => `<span class="tag">${t(k)}=${t(v)}</span>`)].join(' ');
    const alerts = r.alerts.length ? `<span class="badge" title="${r.alerts.length} alert(s)">${r.alerts.length}</span><ul class="alerts">${r.alerts.map((a) => `<li>${t(a.message)}</li>`).join('')}</ul>` : '';
    return `<tr class="backup${r.alerts.length ? ' alert' : ''}" data-id="${t(r.id)}" data-series="${t(r.series ?? '')}"><td>${t(shortTime(r.time))}</td><td><code>${t(r.id)}</code></td><td>${t(r.seriesShort ?? '')}</td><td class="num">${formatBytes(r.storedBytes)}</td><td class="num">${formatBytes(r.plaintextBytes)}</td><td class="num">${formatSeconds(r.durationSeconds)}</td><td>${alerts}</td><td>${tags}</td></tr>`;
  });
  return `<table class="backups"><thead><tr><th>Time (UTC)</th><th>Backup</th><th>Series</th><th>Stored</th><th>Plaintext</th><th>Duration</th><th>Alerts</th><th>Labels / metadata</th></tr></thead><tbody>${body.join('')}</tbody></table>`;
}
