import type { Command } from 'commander';
import { resolveShowConfig } from '../config/history.js';
import { listBackups, selectBackup, warnNewerDamaged } from '../core/repository.js';
import { seriesKeyOf, seriesNames } from '../core/series.js';
import { readSignatureStatus, signatureJson, describeSignature } from '../core/trust.js';
import { formatShow } from '../report/show-text.js';
import { CONFIG_HELP, configOf, printJson, releaseJson, storage, storageOptions, type CliContext } from './options.js';

/** `strongbox show`: one backup's manifest for humans (or as JSON), with its series and signature status. */
export function registerShowCommand(program: Command, ctx: CliContext): void {
  const { reporter, env } = ctx;
  storageOptions(
    program
      .command('show')
      .description("a backup's manifest for humans: artifacts, sizes, checksums, row counts, origin, labels, metadata, duration, alerts and signature status")
      .option('--from <dest>', 'where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)')
      .option('--config <file>', CONFIG_HELP)
      .option('--backup <selector>', 'backup id, latest, or label:NAME (default: latest)')
      .option('--json', 'print it as JSON on stdout'),
  ).action(async (o) => {
    const cfg = resolveShowConfig({ ...storage(o), from: o.from, backup: o.backup }, await configOf(o), env, reporter);
    const entries = await listBackups(cfg.destination, reporter);
    const chosen = selectBackup(entries, cfg.selection);
    warnNewerDamaged(entries, chosen, cfg.selection.selector, reporter);
    // The name history uses: extended with source identities only where the repository needs them.
    const names = seriesNames(entries.flatMap((e) => (e.manifest && !e.damaged ? [e.manifest] : [])), cfg.groupBy);
    const series = names.get(seriesKeyOf(chosen.manifest, cfg.groupBy)) ?? '';
    const signature = await readSignatureStatus(cfg.destination, chosen);
    const m = chosen.manifest;
    if (o.json) {
      printJson({
        ...m,
        series,
        labels: m.labels,
        metadata: m.metadata ?? {},
        alerts: Array.isArray(m.alerts) ? m.alerts : [],
        storedBytes: m.artifacts.reduce((n, a) => n + a.stored.size, 0),
        plaintextBytes: m.artifacts.reduce((n, a) => n + a.plaintext.size, 0),
        ...releaseJson(m.origin),
        ...signatureJson(signature),
        signatureStatus: describeSignature(signature, false),
      });
      return;
    }
    process.stdout.write(formatShow(m, series, signature));
  });
}
