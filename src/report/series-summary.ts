import type { HistoryRow } from '../core/history.js';
import { formatBytes } from '../shared/format.js';
import { printable } from '../shared/text.js';
import { escapeHtml } from './escape.js';
import { formatSeconds, shortTime } from './history-text.js';

/**
 * The backup job summary's "recent backups of this series": a table (time, size, duration,
 * alerts) and a mermaid `xychart-beta` of the stored size, which GitHub draws in a Markdown
 * summary. Nothing from the manifest goes into the mermaid block (its quoting is weak): only
 * times and numbers.
 */

export const RECENT_BACKUPS = 10;

const UNITS = [
  ['B', 1],
  ['KiB', 1024],
  ['MiB', 1024 ** 2],
  ['GiB', 1024 ** 3],
  ['TiB', 1024 ** 4],
] as const;

/** The unit the largest value reads best in. */
function unitFor(max: number): (typeof UNITS)[number] {
  return [...UNITS].reverse().find(([, n]) => max >= n) ?? UNITS[0];
}

/** `rows` are one series' history, oldest first; the newest `limit` are shown, `currentId` marked. */
export function seriesSummaryMarkdown(series: string, rows: HistoryRow[], currentId: string | undefined, limit = RECENT_BACKUPS): string {
  const recent = rows.filter((r) => !r.damaged).slice(-limit);
  if (!recent.length) return '';
  const t = (s: string) => escapeHtml(printable(s));
  const head = `<h3>Recent backups of series <code>${t(series)}</code></h3>`;
  const body = [...recent]
    .reverse()
    .map((r) => {
      const mark = r.id === currentId ? ' (this backup)' : '';
      const alerts = r.alerts.length ? `⚠️ ${r.alerts.map((a) => t(a.message)).join('<br>')}` : '—';
      return `<tr><td>${t(shortTime(r.time))}${mark}</td><td><code>${t(r.id)}</code></td><td>${formatBytes(r.storedBytes)}</td><td>${formatBytes(r.plaintextBytes)}</td><td>${formatSeconds(r.durationSeconds)}</td><td>${alerts}</td></tr>`;
    })
    .join('');
  const table = `<table><tr><th>Time (UTC)</th><th>Backup</th><th>Stored</th><th>Plaintext</th><th>Duration</th><th>Alerts</th></tr>${body}</table>`;
  return `${head}\n${table}\n\n${recent.length > 1 ? mermaidSizeChart(recent) : ''}`;
}

/** A mermaid xychart of the stored size per backup (bars), oldest to newest. */
export function mermaidSizeChart(rows: HistoryRow[]): string {
  const max = Math.max(...rows.map((r) => r.storedBytes));
  const [unit, div] = unitFor(max);
  const label = (iso: string) => `"${new Date(Date.parse(iso)).toISOString().slice(5, 16).replace('T', ' ')}"`;
  const values = rows.map((r) => Number((r.storedBytes / div).toFixed(2)));
  const top = Math.max(...values) * 1.1 || 1;
  return [
    '```mermaid',
    'xychart-beta',
    `  title "Stored size (${unit}), last ${rows.length} backups"`,
    `  x-axis [${rows.map((r) => label(r.time)).join(', ')}]`,
    `  y-axis "${unit}" 0 --> ${Number(top.toFixed(2))}`,
    `  bar [${values.join(', ')}]`,
    '```',
    '',
  ].join('\n');
}
