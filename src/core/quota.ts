import type { Destination } from '../destinations/types.js';
import { errorMessage } from '../shared/errors.js';
import { formatBytes } from '../shared/format.js';
import type { Reporter } from '../shared/reporter.js';

/** At this share of its quota a location is reported as nearly full. */
export const QUOTA_WARN_RATIO = 0.8;

export interface QuotaUsage {
  location: string;
  usedBytes: number;
  quotaBytes: number;
}

/** What the repository stores: the sum of the sizes of every object listed under its prefix (streamed, not collected). */
export async function storedBytes(dest: Destination): Promise<number> {
  let total = 0;
  for await (const o of dest.list('')) total += o.size;
  return total;
}

/**
 * Measures each location against its quota and warns at ≥ 80 % and above 100 %. A quota is
 * an early warning, never a failure: a backup already committed stays committed, and a
 * location that cannot be measured is a warning too (and absent from the result).
 */
export async function checkQuotas(items: { destination: Destination; quotaBytes: number }[], reporter: Reporter): Promise<QuotaUsage[]> {
  const usage: QuotaUsage[] = [];
  for (const { destination, quotaBytes } of items) {
    let usedBytes: number;
    try {
      usedBytes = await storedBytes(destination);
    } catch (err) {
      reporter.warning(`could not measure ${destination.display} against its quota of ${formatBytes(quotaBytes)}: ${errorMessage(err)}`);
      continue;
    }
    usage.push({ location: destination.display, usedBytes, quotaBytes });
    const share = `${formatBytes(usedBytes)} of its ${formatBytes(quotaBytes)} quota (${Math.round((usedBytes / quotaBytes) * 100)}%)`;
    if (usedBytes > quotaBytes) reporter.warning(`${destination.display} is OVER its quota: it holds ${share}; prune it (strongbox prune) or raise the quota before the store refuses writes`);
    else if (usedBytes >= QUOTA_WARN_RATIO * quotaBytes) reporter.warning(`${destination.display} is nearly full: it holds ${share}; tighten its retention or raise the quota`);
  }
  return usage;
}
