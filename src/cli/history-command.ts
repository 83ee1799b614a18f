import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { resolveHistoryConfig } from '../config/history.js';
import { readHistory } from '../core/history.js';
import { historyHtml } from '../report/history-html.js';
import { formatHistory } from '../report/history-text.js';
import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import { CONFIG_HELP, configOf, printJson, storage, storageOptions, type CliContext } from './commands.js';

/** `strongbox history`: sizes, durations and alerts of every backup, per series; text, JSON or one HTML page. */
export function registerHistoryCommand(program: Command, ctx: CliContext): void {
  const { reporter, env } = ctx;
  storageOptions(
    program
      .command('history')
      .description('per backup its time, series, labels, stored and plaintext size, duration and alerts, with totals per series and for the repository; --html writes a page with charts')
      .option('--from <dest>', 'where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)')
      .option('--config <file>', CONFIG_HELP)
      .option('--series <name>', 'only this series (its name as history shows it, short or full)')
      .option('--label <label>', 'only backups with this label')
      .option('--group-by <what>', 'what makes a series: sources (set of artifact names), labels, sources,labels or none (default: sources, or group-by: of --config)')
      .option('--json', 'print the history as JSON on stdout')
      .option('--html <file>', 'also write a self-contained HTML page (charts of size and duration per series, the table, alerts marked) to FILE'),
  ).action(async (o) => {
    const cfg = resolveHistoryConfig({ ...storage(o), from: o.from, series: o.series, label: o.label, groupBy: o.groupBy }, await configOf(o), env, reporter);
    const history = await readHistory(cfg.destination, cfg.filters, reporter);
    if (o.html !== undefined) {
      try {
        await writeFile(o.html, historyHtml(history, new Date()));
      } catch (err) {
        throw new UsageError(`cannot write --html ${printable(o.html)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check that its folder exists and is writable');
      }
      reporter.info(`wrote ${printable(o.html)}: ${history.totals.backups} backup(s) in ${history.totals.series} series`);
    }
    if (cfg.filters.series !== undefined && !history.rows.some((r) => r.series !== null)) {
      reporter.warning(`no backup at ${cfg.destination.display} is in series ${printable(cfg.filters.series)}; strongbox history without --series lists the series there are`);
    }
    if (o.json) printJson(history);
    else process.stdout.write(formatHistory(history));
  });
}
