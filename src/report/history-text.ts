import type { History, HistoryRow } from '../core/history.js';
import { formatBytes } from '../shared/format.js';
import { printable } from '../shared/text.js';
import { describeMembers } from './collection-text.js';

/** `strongbox history` for a terminal: one line per backup, its alerts below it, then the totals. */

export function formatSeconds(s: number): string {
  // Short runs keep two decimals: 0.04 s is not 0.0 s.
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `2026-11-20 02:00:00Z`: the manifest's UTC time, to the second. */
export function shortTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? printable(iso) : new Date(t).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

const HEAD = ['TIME', 'BACKUP', 'SERIES', 'STORED', 'PLAINTEXT', 'DURATION', 'ALERTS', 'LABELS / METADATA'];

function cells(r: HistoryRow): string[] {
  if (r.damaged) return [shortTime(r.time), r.id, 'DAMAGED', '-', '-', '-', '-', printable(r.damaged)];
  const tags = [...r.labels.map(printable), ...Object.entries(r.metadata).map(([k, v]) => `${printable(k)}=${printable(v)}`)];
  return [
    shortTime(r.time),
    r.id,
    printable(r.seriesShort ?? ''),
    formatBytes(r.storedBytes),
    formatBytes(r.plaintextBytes),
    formatSeconds(r.durationSeconds),
    r.alerts.length ? `! ${r.alerts.length}` : '-',
    tags.join(' ') || '-',
  ];
}

export function formatHistory(h: History): string {
  const lines: string[] = [];
  const filter = [h.filters.series !== undefined ? `series ${printable(h.filters.series)}` : '', h.filters.label !== undefined ? `label ${printable(h.filters.label)}` : ''].filter(Boolean).join(', ');
  lines.push(`history of ${printable(h.location)} (series by ${h.groupBy}${filter ? `; only ${filter}` : ''})`);
  if (!h.rows.length) {
    lines.push('no backups');
    return lines.join('\n') + '\n';
  }
  const table = [HEAD, ...h.rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...table.map((row) => [...row[i]!].length)));
  const pad = (row: string[]) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  lines.push(pad(HEAD));
  for (const r of h.rows) {
    lines.push(pad(cells(r)));
    for (const c of r.collections ?? []) lines.push(`    ${printable(c.name)}: ${describeMembers(c)}`);
    for (const a of r.alerts) lines.push(`    ! ${printable(a.message)}`);
  }
  lines.push('', 'series');
  const long = h.series.some((s) => s.seriesShort !== s.series);
  for (const s of h.series) {
    lines.push(
      `  ${printable(s.seriesShort)}: ${s.backups} backup(s), stored ${formatBytes(s.storedBytes)}, plaintext ${formatBytes(s.plaintextBytes)}, ${s.alerts} alert(s), ${shortTime(s.first)} … ${shortTime(s.last)}`,
    );
    if (long && s.seriesShort !== s.series) lines.push(`    = ${printable(s.series)}`);
  }
  const t = h.totals;
  lines.push(
    '',
    `${filter ? 'shown' : 'repository'}: ${t.backups} backup(s) in ${t.series} series${t.damaged ? `, ${t.damaged} DAMAGED` : ''}, stored ${formatBytes(t.storedBytes)}, plaintext ${formatBytes(t.plaintextBytes)}, ${t.alerts} alert(s)`,
  );
  return lines.join('\n') + '\n';
}
