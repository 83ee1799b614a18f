import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { resolveHistoryConfig } from '../config/history.js';
import { buildHistory } from '../core/history.js';
import { listBackups } from '../core/repository.js';
import { historyHtml } from '../report/history-html.js';
import { formatHistory } from '../report/history-text.js';
import { NotFoundError, UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import { CONFIG_HELP, configOf, printJson, storage, storageOptions, type CliContext } from './options.js';

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
      .option('--html <file>', 'write a self-contained HTML page (charts of size and duration per series, the table, alerts marked) to FILE and print only where it went (with --json, the JSON is printed too)'),
  ).action(async (o) => {
    const cfg = resolveHistoryConfig({ ...storage(o), from: o.from, series: o.series, label: o.label, groupBy: o.groupBy }, await configOf(o), env, reporter);
    // Listed once: the same entries give the filtered history and, when a --series matches nothing, the series there are.
    const entries = await listBackups(cfg.destination, reporter);
    const history = buildHistory(entries, cfg.destination.display, cfg.filters);
    if (cfg.filters.series !== undefined && !history.rows.some((r) => r.series !== null)) {
      // As `show` does for a selector that matches nothing: a misspelt series in a monitoring script must not pass.
      const known = buildHistory(entries, cfg.destination.display, { ...cfg.filters, series: undefined }).series;
      throw new NotFoundError(
        `no backup at ${cfg.destination.display} is in series ${printable(cfg.filters.series)}`,
        known.length ? `the series there${cfg.filters.label !== undefined ? ` (with label ${printable(cfg.filters.label)})` : ''}: ${known.map((k) => printable(k.seriesShort === k.series ? k.series : `${k.seriesShort} (= ${k.series})`)).join(', ')}` : 'there are no complete backups there to list series of',
      );
    }
    if (o.html !== undefined) {
      try {
        await writeFile(o.html, historyHtml(history, new Date()));
      } catch (err) {
        throw new UsageError(`cannot write --html ${printable(o.html)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check that its folder exists and is writable');
      }
      // The page is the output asked for: one line saying where (on stdout, for scripts), not the text table too.
      const wrote = `wrote ${printable(o.html)}: ${history.totals.backups} backup(s) in ${history.totals.series} series`;
      if (o.json) reporter.info(wrote);
      else {
        process.stdout.write(`${wrote}\n`);
        return;
      }
    }
    if (o.json) printJson(history);
    else process.stdout.write(formatHistory(history));
  });
}
