import { readHistory } from '../core/history.js';
import type { GroupBy } from '../core/series.js';
import type { Destination } from '../destinations/types.js';
import { seriesSummaryMarkdown } from '../report/series-summary.js';
import { errorMessage } from '../shared/errors.js';
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

/** The section's Markdown; '' when the backup is not (or no longer) listed there. */
export async function seriesHistoryMarkdown(dest: Destination, backupId: string, groupBy: GroupBy, reporter: Reporter): Promise<string> {
  const history = await readHistory(dest, { groupBy }, reporter);
  const series = history.rows.find((r) => r.id === backupId)?.series;
  if (series == null) return '';
  return seriesSummaryMarkdown(series, history.rows.filter((r) => r.series === series), backupId);
}
