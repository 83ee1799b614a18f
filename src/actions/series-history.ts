import { buildHistory } from '../core/history.js';
import { readRecentHistory } from '../core/recent-history.js';
import { readManifestWithBytes } from '../core/repository.js';
import { seriesKeyOf, type GroupBy } from '../core/series.js';
import type { Manifest } from '../core/types.js';
import type { Destination } from '../destinations/types.js';
import { RECENT_BACKUPS, seriesSummaryMarkdown } from '../report/series-summary.js';
import { NotFoundError, errorMessage } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { writeSummary } from './run.js';

/**
 * Appends "recent backups of this series" (table and chart) to the job summary, read from
 * where the backup committed. A courtesy: a listing that fails is a warning and leaves the
 * section out, never a change of the step's result.
 */
export async function writeSeriesHistorySummary(dest: Destination | undefined, backupId: string, groupBy: GroupBy, reporter: Reporter): Promise<void> {
  if (!dest || !process.env.GITHUB_STEP_SUMMARY) return;
  try {
    const markdown = await seriesHistoryMarkdown(dest, backupId, groupBy, reporter);
    if (markdown) await writeSummary((s) => s.addRaw(markdown, true));
  } catch (err) {
    reporter.warning(`the job summary leaves out the recent backups of this series: reading the history at ${dest.display} failed: ${errorMessage(err)}`);
  }
}

/**
 * The section's Markdown; '' when the backup is not (or no longer) there. Reads only the
 * newest RECENT_BACKUPS of the backup's series (readRecentHistory), not the whole repository.
 */
export async function seriesHistoryMarkdown(dest: Destination, backupId: string, groupBy: GroupBy, reporter: Reporter): Promise<string> {
  let current: Manifest;
  try {
    current = (await readManifestWithBytes(dest, backupId)).manifest;
  } catch (err) {
    if (err instanceof NotFoundError) return '';
    throw err;
  }
  const key = seriesKeyOf(current, groupBy);
  const at = Date.parse(current.startedAt);
  const wanted = (m: Manifest) => Date.parse(m.startedAt) <= at && seriesKeyOf(m, groupBy) === key;
  const recent = await readRecentHistory(dest, { wanted, limit: RECENT_BACKUPS }, reporter);
  const entries = recent.manifests.reverse().map((m) => ({ id: m.id, complete: true, manifest: m, objects: [], time: new Date(m.startedAt) }));
  const history = buildHistory(entries, dest.display, { groupBy });
  const series = history.rows.find((r) => r.id === backupId)?.series;
  if (series == null) return '';
  return seriesSummaryMarkdown(series, history.rows, backupId);
}
