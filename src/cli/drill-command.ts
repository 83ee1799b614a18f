import type { Command } from 'commander';
import { resolveDrillConfig } from '../config/drill.js';
import { drill, type DrillResult } from '../core/drill.js';
import { printable } from '../shared/text.js';
import { drillOutcome } from '../report/outcome.js';
import { collect, commonOptions, configOf, printJson, readFlags, type CliContext } from './options.js';

/** The text report: one line per artifact, the checks, the total RTO. */
export function formatDrill(r: DrillResult): string {
  const lines = [`drill of ${r.backupId} (${r.startedAt}, series ${printable(r.series)})`];
  for (const a of r.artifacts) {
    const what = [a.rows ? `${a.rows.rows} rows in ${a.rows.tables} tables compared` : '', a.compared ? `${a.compared} compared` : ''].filter(Boolean).join(', ');
    const status = a.status === 'ok' ? 'ok        ' : a.status === 'skipped' ? 'skipped   ' : 'DIFFERENCE';
    const secs = a.seconds !== undefined ? `  ${a.seconds.toFixed(1)}s` : '';
    lines.push(`  ${status} ${printable(a.name)}${a.target ? ` → ${a.target}` : ''}${secs}${what ? `  (${what})` : ''}${a.problem ? `: ${printable(a.problem)}` : ''}`);
  }
  for (const c of r.checks) lines.push(`  check ${c.ok ? 'ok    ' : 'FAILED'} ${printable(c.check)} — ${printable(c.detail)}`);
  const restored = r.artifacts.filter((a) => a.status !== 'skipped').length;
  lines.push(`RTO ${r.rtoSeconds.toFixed(1)}s in total (download, decrypt, decompress and restore of ${restored} artifact(s), one after another; comparisons and checks not counted)`);
  for (const k of r.kept) lines.push(`kept ${k} (--keep)`);
  return lines.join('\n') + '\n';
}

export function registerDrillCommand(program: Command, ctx: CliContext): void {
  const { reporter, env } = ctx;
  commonOptions(
    program
      .command('drill')
      .description('restore a backup into scratch targets (never production), compare it with its manifest, run checks and measure the restore time (RTO); exit 10 on any difference')
      .option('--from <dest>', 'where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)')
      .option('--config <file>', 'read locations, keys and settings from this strongbox.yml; flags given override it')
      .option('--backup <selector>', 'backup id, latest, or label:NAME (default: latest)')
      .option('--identity-file <file>', 'age identity file (default with --config: its decryption:)')
      .option('--passphrase-env <name>', 'environment variable holding the passphrase')
      .option('--trust <file.pub>', 'refuse a backup not signed by this key (repeatable; replaces trust: of --config)', collect, [])
      .option('--postgres-scratch <url>', 'PostgreSQL server to drill on: postgres://user@host:port/ (the drill creates a database strongbox_drill_<time>_<id> and drops it afterwards); a URL naming an existing database is refused')
      .option('--postgres-scratch-env <name>', 'environment variable holding that URL (keeps its password out of the process list)')
      .option('--mysql-scratch <url>', 'MySQL/MariaDB server to drill on: mysql://user@host:port/ (created and dropped as for --postgres-scratch)')
      .option('--mysql-scratch-env <name>', 'environment variable holding that URL')
      .option('--sqlite-scratch <path>', 'restore the SQLite artifact into this new file (default: a temporary file)')
      .option('--files-scratch <dir>', 'restore the file tree into this empty or new directory (default: a temporary directory)')
      .option('--check-sql <sql>', 'after the restore, this SQL must succeed and return rows; NAME:SQL runs it on artifact NAME\'s scratch database, plain SQL on the first restored database (repeatable)', collect, [])
      .option('--only <name>', 'drill only this artifact (repeatable; the others are reported as left out); without it every database artifact needs its --<kind>-scratch', collect, [])
      .option('--max-age <duration>', 'the drill fails if the backup is older than this, e.g. 8d')
      .option('--keep', 'leave what the drill created (scratch databases, files) in place')
      .option('--db-lock-timeout <duration>', 'fail when a database lock blocks the restore for this long (default: 5m, or db-lock-timeout: of --config)')
      .option('--pg-bin <dir>', 'PostgreSQL: folder holding pg_restore/psql to prefer')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const options = await resolveDrillConfig(
      {
        ...readFlags(o),
        from: o.from,
        postgresScratch: o.postgresScratch,
        postgresScratchEnv: o.postgresScratchEnv,
        mysqlScratch: o.mysqlScratch,
        mysqlScratchEnv: o.mysqlScratchEnv,
        sqliteScratch: o.sqliteScratch,
        filesScratch: o.filesScratch,
        checkSql: o.checkSql,
        only: o.only,
        maxAge: o.maxAge,
        keep: o.keep,
        dbLockTimeout: o.dbLockTimeout,
        pgBin: o.pgBin,
        argv: true,
      },
      await configOf(o),
      env,
      reporter,
    );
    const result = await drill(options);
    ctx.outcome = drillOutcome(result);
    if (o.json) printJson(result);
    else process.stdout.write(formatDrill(result));
    if (!result.ok) {
      // The checks are named by count: their SQL is the team's text and the error line goes into notifications.
      const differ = result.artifacts.filter((a) => a.status === 'difference').map((a) => printable(a.name));
      const failedChecks = result.checks.filter((c) => !c.ok).length;
      const what = [
        ...(differ.length ? [`${differ.join(', ')} did not restore as recorded`] : []),
        ...(failedChecks ? [`${failedChecks} of ${result.checks.length} check(s) failed${differ.length ? '' : ' although the backup restored as recorded'}`] : []),
      ];
      reporter.error(`DRILL FAILED for backup ${result.backupId}: ${what.join('; ')} (see above)`);
      ctx.exitCode = result.exitCode;
    } else reporter.info(`OK: drill of ${result.backupId} restored ${result.artifacts.filter((a) => a.status === 'ok').length} artifact(s) as recorded in ${result.rtoSeconds.toFixed(1)}s`);
  });
}
