/**
 * An anomaly found by comparing a backup with the recent history of its own series (or a
 * location with its quota). Recorded in the manifest, printed as a warning, put in --json and
 * in notifications; a drop alert (guardsRetention) standing on an artifact stops retention from
 * deleting anything in the series holding it (unless --force; see core/retention-guard.ts).
 */
export type AlertKind = 'plaintext-size' | 'stored-size' | 'duration' | 'rows' | 'entries' | 'quota';

export interface Alert {
  kind: AlertKind;
  /** What the figure is of: an artifact name, `artifact table` for a row count, a location for a quota; absent for the whole backup. */
  subject?: string;
  /** This backup's figure (bytes, seconds, rows, entries; for a quota the stored bytes). */
  value: number;
  /** What it is compared with: the median of the series' recent complete backups (for a quota, the quota in bytes). */
  baseline: number;
  /** Signed change against the baseline in percent (−90 = a tenth of the usual); for a quota, the share used. */
  changePercent: number;
  /** The threshold that was passed, in percent. */
  thresholdPercent: number;
  /** One human line, no secrets: what moved, by how much, against what. */
  message: string;
}

/** Kinds that can mean data was lost: their drops (guardsRetention) guard a series from retention. */
export const GUARDING_ALERTS: readonly AlertKind[] = ['plaintext-size', 'stored-size', 'rows', 'entries'];

/**
 * Whether an alert means data may be missing: a size, row or entry-count *drop*. Growth (a data
 * import) is news, not a reason to stop pruning; duration and quota alerts never guard.
 */
export function guardsRetention(a: Pick<Alert, 'kind' | 'changePercent'>): boolean {
  return GUARDING_ALERTS.includes(a.kind) && a.changePercent < 0;
}
