import type { Destination } from '../destinations/types.js';
import { errorMessage } from '../shared/errors.js';
import { formatBytes } from '../shared/format.js';
import type { Reporter } from '../shared/reporter.js';
import type { Alert } from '../shared/alert.js';

/** At this share (percent) of its quota a location is reported as nearly full (`--quota-alert`). */
export const DEFAULT_QUOTA_ALERT_PERCENT = 80;

export interface QuotaUsage {
  location: string;
  usedBytes: number;
  quotaBytes: number;
  /** Set when the share used reached the alert threshold (or passed the quota). */
  alert?: Alert;
}

/**
 * The `quota` alert of a location: at or above `percent` of its quota (0: only when over it).
 * About the location, not a backup, so it is never written into a manifest.
 */
export function quotaAlert(u: Omit<QuotaUsage, 'alert'>, percent: number): Alert | undefined {
  const share = (u.usedBytes / u.quotaBytes) * 100;
  const over = u.usedBytes > u.quotaBytes;
  if (!over && !(percent > 0 && share >= percent)) return undefined;
  const held = `${formatBytes(u.usedBytes)} of its ${formatBytes(u.quotaBytes)} quota (${Math.round(share)}%)`;
  return {
    kind: 'quota',
    subject: u.location,
    value: u.usedBytes,
    baseline: u.quotaBytes,
    changePercent: Math.round(share * 10) / 10,
    thresholdPercent: over ? 100 : percent,
    message: over
      ? `${u.location} is OVER its quota: it holds ${held}; prune it (strongbox prune) or raise the quota before the store refuses writes`
      : `${u.location} is nearly full: it holds ${held}, the alert is at ${percent}%; tighten its retention or raise the quota`,
  };
}

/** What the repository stores: the sum of the sizes of every object listed under its prefix (streamed, not collected). */
export async function storedBytes(dest: Destination): Promise<number> {
  let total = 0;
  for await (const o of dest.list('')) total += o.size;
  return total;
}

/**
 * Measures each location against its quota and warns (an Alert) at ≥ `alertPercent` (default
 * 80; 0: only above 100 %) and above 100 %. A quota is
 * an early warning, never a failure: a backup already committed stays committed, and a
 * location that cannot be measured is a warning too (and absent from the result).
 */
export async function checkQuotas(items: { destination: Destination; quotaBytes: number }[], reporter: Reporter, alertPercent = DEFAULT_QUOTA_ALERT_PERCENT): Promise<QuotaUsage[]> {
  const usage: QuotaUsage[] = [];
  for (const { destination, quotaBytes } of items) {
    let usedBytes: number;
    try {
      usedBytes = await storedBytes(destination);
    } catch (err) {
      reporter.warning(`could not measure ${destination.display} against its quota of ${formatBytes(quotaBytes)}: ${errorMessage(err)}`);
      continue;
    }
    const alert = quotaAlert({ location: destination.display, usedBytes, quotaBytes }, alertPercent);
    usage.push({ location: destination.display, usedBytes, quotaBytes, ...(alert ? { alert } : {}) });
    if (alert) reporter.warning(alert.message);
  }
  return usage;
}
