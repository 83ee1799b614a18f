import { collectionsOf, type CollectionFigures } from './collection/summary.js';
import type { Destination } from '../destinations/types.js';
import type { Alert } from '../shared/alert.js';
import type { Reporter } from '../shared/reporter.js';
import { listBackups, type BackupEntry } from './repository.js';
import { DEFAULT_GROUP_BY, seriesKeyOf, seriesNames, type GroupBy } from './series.js';
import type { Manifest } from './types.js';

/**
 * `strongbox history`: one row per backup (complete, or damaged: a manifest there but
 * unreadable), with what a team watches over time — size, duration, alerts — and totals per
 * series and for the repository. Incomplete folders (no manifest) are not backups and are not
 * rows. Only the figures are kept per backup, never the listing's objects or manifest bytes.
 */

export interface HistoryRow {
  id: string;
  /** ISO start time (a damaged backup: its newest object's time). */
  time: string;
  /** Series display name (series.ts seriesNames); null for a damaged backup, whose manifest cannot be read. */
  series: string | null;
  /** A short form of the series name for tables and charts (a long set of artifact names abbreviated). */
  seriesShort: string | null;
  labels: string[];
  storedBytes: number;
  plaintextBytes: number;
  durationSeconds: number;
  alerts: Alert[];
  metadata: Record<string, string>;
  /** Why the backup is unusable; its figures are then 0 and it counts in no series. */
  damaged?: string;
  /** Its collection artifacts' members and bytes (new and reused); absent when it has none. */
  collections?: CollectionFigures[];
}

export interface SeriesTotals {
  series: string;
  seriesShort: string;
  backups: number;
  storedBytes: number;
  plaintextBytes: number;
  alerts: number;
  first: string;
  last: string;
}

export interface HistoryTotals {
  backups: number;
  damaged: number;
  series: number;
  storedBytes: number;
  plaintextBytes: number;
  alerts: number;
}

export interface History {
  location: string;
  groupBy: GroupBy;
  filters: { series?: string; label?: string };
  /** Oldest first. */
  rows: HistoryRow[];
  series: SeriesTotals[];
  /** Of the rows shown (after the filters). */
  totals: HistoryTotals;
}

export interface HistoryFilters {
  /** A series by its name, short name or key. */
  series?: string;
  label?: string;
  groupBy?: GroupBy;
}

/** Reads the destination's backups and builds their history. */
export async function readHistory(dest: Destination, filters: HistoryFilters, reporter: Reporter): Promise<History> {
  return buildHistory(await listBackups(dest, reporter), dest.display, filters);
}

/** The history of listed backups (listBackups order: oldest first). */
export function buildHistory(entries: BackupEntry[], location: string, filters: HistoryFilters = {}): History {
  const groupBy = filters.groupBy ?? DEFAULT_GROUP_BY;
  const manifests = entries.flatMap((e) => (e.manifest && !e.damaged ? [e.manifest] : []));
  const names = seriesNames(manifests, groupBy);
  const shorts = shortSeriesNames([...new Set(names.values())]);
  const all: (HistoryRow & { key?: string })[] = [];
  for (const e of entries) {
    if (e.damaged) all.push({ ...emptyRow(e), damaged: e.damaged });
    else if (e.complete && e.manifest) {
      const key = seriesKeyOf(e.manifest, groupBy);
      const series = names.get(key)!;
      all.push(rowOf(e.manifest, series, shorts.get(series)!, key));
    }
  }
  const rows = all
    .filter((r) => {
      // A damaged backup belongs to no known series, but hiding it would hide a lost backup.
      if (r.damaged) return true;
      if (filters.label !== undefined && !r.labels.includes(filters.label)) return false;
      if (filters.series !== undefined && ![r.series, r.seriesShort, r.key].includes(filters.series)) return false;
      return true;
    })
    .map(({ key: _key, ...r }) => r);
  return { location, groupBy, filters: { series: filters.series, label: filters.label }, rows, series: seriesTotals(rows), totals: totalsOf(rows) };
}

function rowOf(m: Manifest, series: string, seriesShort: string, key: string): HistoryRow & { key: string } {
  return {
    id: m.id,
    time: m.startedAt,
    series,
    seriesShort,
    key,
    labels: [...m.labels],
    storedBytes: m.artifacts.reduce((n, a) => n + a.stored.size, 0),
    plaintextBytes: m.artifacts.reduce((n, a) => n + a.plaintext.size, 0),
    durationSeconds: typeof m.durationSeconds === 'number' && Number.isFinite(m.durationSeconds) ? m.durationSeconds : 0,
    // Written by newer versions only, and not checked by the manifest reader: taken when it is a list.
    alerts: Array.isArray(m.alerts) ? m.alerts.filter((a) => typeof a === 'object' && a !== null && typeof a.message === 'string') : [],
    metadata: m.metadata ? { ...m.metadata } : {},
    ...(collectionsOf(m).length ? { collections: collectionsOf(m) } : {}),
  };
}

function emptyRow(e: BackupEntry): HistoryRow {
  return { id: e.id, time: e.time.toISOString(), series: null, seriesShort: null, labels: [], storedBytes: 0, plaintextBytes: 0, durationSeconds: 0, alerts: [], metadata: {} };
}

function seriesTotals(rows: HistoryRow[]): SeriesTotals[] {
  const by = new Map<string, SeriesTotals>();
  for (const r of rows) {
    if (r.series === null) continue;
    let t = by.get(r.series);
    if (!t) by.set(r.series, (t = { series: r.series, seriesShort: r.seriesShort!, backups: 0, storedBytes: 0, plaintextBytes: 0, alerts: 0, first: r.time, last: r.time }));
    t.backups++;
    t.storedBytes += r.storedBytes;
    t.plaintextBytes += r.plaintextBytes;
    t.alerts += r.alerts.length;
    t.last = r.time;
  }
  return [...by.values()];
}

function totalsOf(rows: HistoryRow[]): HistoryTotals {
  const ok = rows.filter((r) => !r.damaged);
  return {
    backups: ok.length,
    damaged: rows.length - ok.length,
    series: new Set(ok.map((r) => r.series)).size,
    storedBytes: ok.reduce((n, r) => n + r.storedBytes, 0),
    plaintextBytes: ok.reduce((n, r) => n + r.plaintextBytes, 0),
    alerts: ok.reduce((n, r) => n + r.alerts.length, 0),
  };
}

export const SHORT_SERIES_MAX = 32;

/**
 * A readable short form per series name: kept when short; else the first parts that fit and
 * `+N` for the rest (`files-media+postgres-app +3`). Where two would read the same, the
 * second and later get ` #2`, ` #3`, … so every short name still means one series.
 */
export function shortSeriesNames(names: string[], max = SHORT_SERIES_MAX): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Map<string, number>();
  for (const name of [...names].sort()) {
    let short = name.length <= max ? name : abbreviate(name, max);
    const n = (used.get(short) ?? 0) + 1;
    used.set(short, n);
    if (n > 1) short = `${short} #${n}`;
    out.set(name, short);
  }
  return out;
}

function abbreviate(name: string, max: number): string {
  // The artifact list is what grows: `a+b+c`, `a+b label:x,y`.
  const parts = name.split('+');
  const kept: string[] = [];
  for (const p of parts) {
    const next = [...kept, p].join('+');
    if (kept.length && next.length + ` +${parts.length - kept.length - 1}`.length > max) break;
    kept.push(p);
  }
  let head = kept.join('+');
  if (head.length > max) head = `${head.slice(0, max - 1)}…`;
  const rest = parts.length - kept.length;
  return `${head}${rest ? ` +${rest}` : ''}`;
}
