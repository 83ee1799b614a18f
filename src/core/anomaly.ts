import { guardsRetention, type Alert, type AlertKind } from '../shared/alert.js';
import { formatBytes } from '../shared/format.js';
import { printable } from '../shared/text.js';
import { DEFAULT_GROUP_BY, seriesKeyOf, type GroupBy } from './series.js';
import type { ArtifactRecord, Manifest } from './types.js';

/**
 * Anomaly alerts: a backup compared with the median of the recent complete backups of its
 * own series. A pure function of manifests, so every decision can be replayed in a test.
 * The median (not the mean) keeps one odd night from moving the baseline. Backups that carry a
 * drop alert themselves are never part of a baseline: otherwise, after four nights of an
 * emptied database, the empty size would become "the usual", the alert would stop, and the
 * retention guard would let the good backups go without anyone having looked.
 */

/** Thresholds in percent; 0 switches that comparison off. */
export interface AlertThresholds {
  /** Plaintext and stored size per artifact, either way (default 20). */
  sizeChangePercent: number;
  /** Duration of the whole backup, growth only (default 50). */
  durationChangePercent: number;
  /** Exact per-table row counts and file-tree entry counts, drops only (default 20). */
  rowsDropPercent: number;
  /**
   * A duration must also grow by at least this many seconds: a 2 s backup taking 3 s is noise
   * (a busy runner), not news. Default 10.
   */
  minDurationGrowthSeconds?: number;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = { sizeChangePercent: 20, durationChangePercent: 50, rowsDropPercent: 20, minDurationGrowthSeconds: 10 };

/** Fewer complete backups of the series than this: no baseline yet, no alert. */
export const MIN_HISTORY = 3;
/** The baseline is the median of at most this many of the newest complete backups without a drop alert. */
export const HISTORY_WINDOW = 7;

export interface AnomalyResult {
  alerts: Alert[];
  /** How many earlier backups of the series the baseline came from. */
  historyCount: number;
  /** Why nothing was compared (too little history), for a debug line. */
  skipped?: string;
}

/** Whether a complete backup may be part of a baseline: it carries no drop alert (guardsRetention). */
export function inBaseline(m: Pick<Manifest, 'alerts'>): boolean {
  return !m.alerts?.some(guardsRetention);
}

export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

type Current = Pick<Manifest, 'id' | 'startedAt' | 'durationSeconds' | 'artifacts' | 'labels'>;

/**
 * Alerts for `current` against `history` (any manifests: those of other series, of later or
 * the same backup, and those carrying a drop alert are left out here, so the caller can pass a
 * whole listing).
 */
export function detectAnomalies(current: Current, history: Manifest[], thresholds: AlertThresholds = DEFAULT_THRESHOLDS, groupBy: GroupBy = DEFAULT_GROUP_BY): AnomalyResult {
  const key = seriesKeyOf(current, groupBy);
  const at = Date.parse(current.startedAt);
  const earlier = history
    .filter((m) => inBaseline(m) && m.id !== current.id && Date.parse(m.startedAt) < at && seriesKeyOf(m, groupBy) === key)
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))
    .slice(0, HISTORY_WINDOW);
  if (earlier.length < MIN_HISTORY) {
    return { alerts: [], historyCount: earlier.length, skipped: `no anomaly check for ${current.id}: its series has ${earlier.length} earlier complete backup(s) without a drop alert, ${MIN_HISTORY} are needed for a baseline` };
  }
  const alerts: Alert[] = [];
  const t = thresholds;
  const minGrowth = t.minDurationGrowthSeconds ?? DEFAULT_THRESHOLDS.minDurationGrowthSeconds!;

  if (t.durationChangePercent > 0) {
    const base = median(earlier.map((m) => m.durationSeconds));
    const change = percent(current.durationSeconds, base);
    if (base > 0 && change > t.durationChangePercent && current.durationSeconds - base >= minGrowth) {
      alerts.push(alert('duration', undefined, current.durationSeconds, base, change, t.durationChangePercent, `backup took ${seconds(current.durationSeconds)}, ${fmtPercent(change)} against the usual ${seconds(base)}`));
    }
  }
  for (const a of current.artifacts) {
    const past = earlier.flatMap((m) => m.artifacts.filter((x) => x.name === a.name));
    if (past.length < MIN_HISTORY) continue;
    if (t.sizeChangePercent > 0) {
      for (const [kind, what, size] of [
        ['plaintext-size', 'plaintext size', (x: ArtifactRecord) => x.plaintext.size],
        ['stored-size', 'stored size', (x: ArtifactRecord) => x.stored.size],
      ] as const) {
        const base = median(past.map(size));
        const change = percent(size(a), base);
        if (base > 0 && Math.abs(change) > t.sizeChangePercent) {
          alerts.push(alert(kind, a.name, size(a), base, change, t.sizeChangePercent, `${a.name}: ${what} ${formatBytes(size(a))}, ${fmtPercent(change)} against the usual ${formatBytes(base)}`));
        }
      }
    }
    if (t.rowsDropPercent > 0) {
      alerts.push(...rowDrops(a, past, t.rowsDropPercent));
      const entries = entriesOf(a);
      const pastEntries = past.map(entriesOf).filter((n): n is number => n !== undefined);
      if (entries !== undefined && pastEntries.length >= MIN_HISTORY) {
        const base = median(pastEntries);
        const change = percent(entries, base);
        if (base > 0 && -change > t.rowsDropPercent) {
          alerts.push(alert('entries', a.name, entries, base, change, t.rowsDropPercent, `${a.name}: ${entries} entries, ${fmtPercent(change)} against the usual ${base}`));
        }
      }
    }
  }
  return { alerts, historyCount: earlier.length };
}

/** Only exact counts are compared: planner estimates move on their own. A table gone from an exact count counts as 0 rows. */
function rowDrops(a: ArtifactRecord, past: ArtifactRecord[], threshold: number): Alert[] {
  if (!exactRows(a)) return [];
  const exactPast = past.filter(exactRows);
  if (exactPast.length < MIN_HISTORY) return [];
  const tables = new Set(exactPast.flatMap((x) => Object.keys(x.rowCounts!)));
  const out: Alert[] = [];
  for (const table of [...tables].sort()) {
    const counts = exactPast.map((x) => x.rowCounts![table]).filter((n): n is number => n !== undefined);
    // A table new in the last backups has no baseline yet.
    if (counts.length < MIN_HISTORY) continue;
    const base = median(counts);
    const now = a.rowCounts![table] ?? 0;
    const change = percent(now, base);
    if (base > 0 && -change > threshold) {
      out.push(alert('rows', `${a.name} ${table}`, now, base, change, threshold, `${a.name}: table ${printable(table)} has ${now} rows, ${fmtPercent(change)} against the usual ${base}`));
    }
  }
  return out;
}

const exactRows = (a: ArtifactRecord) => a.rowCounts !== undefined && (a.rowCountMode ?? 'exact') === 'exact';

/** File trees record how many entries their archive holds (`source.entries`). */
function entriesOf(a: ArtifactRecord): number | undefined {
  const n = a.source?.entries;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function percent(value: number, base: number): number {
  return base > 0 ? ((value - base) / base) * 100 : 0;
}

function alert(kind: AlertKind, subject: string | undefined, value: number, baseline: number, changePercent: number, thresholdPercent: number, message: string): Alert {
  return { kind, ...(subject !== undefined ? { subject } : {}), value, baseline, changePercent: Math.round(changePercent * 10) / 10, thresholdPercent, message: `${message} (threshold ${thresholdPercent}%)` };
}

const fmtPercent = (p: number) => `${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(Math.abs(p) < 10 ? 1 : 0)}%`;
const seconds = (s: number) => `${s.toFixed(1)} s`;
