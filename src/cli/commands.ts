import { lstat, rm, writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { CONFIG_HELP, collect, commonOptions, configOf, lockFlags, printJson, readFlags, releaseJson, storage, storageOptions, type CliContext } from './options.js';
import { generateIdentity, recipientFingerprint } from '../codecs/age/index.js';
import { fingerprint, formatPrivateKey, formatPublicKey, generateSigningKey } from '../codecs/ssh-signature/index.js';
import { backup } from '../core/backup.js';
import { ExitCode, RefusedError, StrongboxError, UsageError, errorMessage } from '../shared/errors.js';
import { prune, type PruneResult } from '../core/prune.js';
import { sourceIdentity } from '../core/series.js';
import { rollback } from '../core/rollback.js';
import type { ConsoleReporter } from '../shared/reporter.js';
import { cancellation } from '../shared/cancel.js';
import { describeArtifact, describeBackup, initRepositories, listBackups } from '../core/repository.js';
import { FORMAT_VERSION } from '../core/types.js';
import { restore } from '../core/restore.js';
import { describeSignature, readSignatureStatus, signatureJson } from '../core/trust.js';
import { verify } from '../core/verify.js';
import { verifyAcross } from '../core/verify-across.js';
import { copy, type CopyResult } from '../core/copy.js';
import { printable } from '../shared/text.js';
import { formatBytes } from '../shared/format.js';
import { collectionFigures } from '../core/collection/summary.js';
import { describeMembers } from '../report/collection-text.js';
import { describeConfig, formatDescription } from '../config/describe.js';
import { ConfigFileError, loadConfigFile, type ConfigFile } from '../config/file.js';
import { resolveInitConfig } from '../config/locations.js';
import { resolveListConfig, resolveRestoreConfig, resolveRollbackConfig, resolveVerifyConfig, type TargetSettings } from '../config/read.js';
import { resolvePruneConfig, type PruneConfig } from '../config/prune.js';
import { resolveCopyConfig } from '../config/copy.js';
import { backupLocations, quotaTargets, resolveAlertSettings, resolveBackupConfig, type BackupCommandSettings } from '../config/backup.js';
import { checkQuotas } from '../core/quota.js';
import { S3Destination, type Destination } from '../destinations/index.js';
import { backupOutcome, copyOutcome, failedBackupOutcome, pruneOutcome, restoreOutcome, rollbackOutcome, verifyAcrossOutcome, verifyOutcome } from '../report/outcome.js';
import { registerHistoryCommand } from './history-command.js';
import { registerShowCommand } from './show-command.js';
import { registerDrillCommand } from './drill-command.js';

/** What restore --path / --dry-run wrote (or would write), on stdout: one line per entry, then the counts. */
function printWritten(result: Awaited<ReturnType<typeof restore>>): void {
  const verbs = result.dryRun ? { write: 'would write', replace: 'would replace', same: 'unchanged' } : { write: 'wrote', replace: 'replaced', same: 'unchanged' };
  for (const r of result.restored) {
    const w = r.written;
    if (!w) continue;
    for (const l of w.listed) process.stdout.write(`${verbs[l.action]} ${printable(l.name)}\n`);
    const shown = w.listed.length < w.written + w.replaced + w.same ? ` (${w.listed.length} listed)` : '';
    const counts = result.dryRun ? `${w.written} to write, ${w.replaced} to replace, ${w.same} unchanged (dry run: nothing was written)` : `${w.written} written, ${w.replaced} replaced, ${w.same} unchanged`;
    process.stdout.write(`${printable(r.name)} → ${r.target}: ${counts}${shown}\n`);
  }
}

/** Never replaces a key: the backups made for the old one would need it to restore. */
async function refuseExisting(file: string): Promise<void> {
  if (await lstat(file).then(() => true, () => false)) {
    throw new RefusedError(`${printable(file)} already exists; keygen does not overwrite keys`, 'choose another --output (backups made for the existing key still need it to restore)');
  }
}

async function writeNew(file: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(file, text, { mode, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') await refuseExisting(file);
    throw new UsageError(`cannot write ${printable(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check that its folder exists and is writable');
  }
}

/** `/srv/backups`, or `bucket B, prefix P at HOST (s3://B/P)` so a wrong prefix or store stands out. */
function describeLocation(dest: Destination): string {
  if (dest instanceof S3Destination) return `bucket ${printable(dest.bucket)}, prefix ${printable(dest.prefix) || '(none)'}${dest.endpointHost ? ` at ${dest.endpointHost}` : ''} (${dest.url})`;
  return dest.display;
}

const DB_LOCK_TIMEOUT_HELP =
  'fail when a database lock held by another session (a PostgreSQL table lock, a MySQL swap, an SQLite writer) blocks the dump or restore for this long (default: 5m, or db-lock-timeout: of --config)';

/** The --<kind>-target flags of restore and rollback; typed into argv, so a password in one is warned about. */
function targetFlags(o: Record<string, string | undefined>): TargetSettings {
  const { postgresTarget, postgresTargetEnv, mysqlTarget, mysqlTargetEnv, sqliteTarget, filesTarget, bucketTarget } = o;
  return { postgresTarget, postgresTargetEnv, mysqlTarget, mysqlTargetEnv, sqliteTarget, filesTarget, bucketTarget, argv: true };
}

/**
 * Whether a command that can serve several locations (copy's tiers, prune's locations) runs
 * per location: its flag given more than once, or --config without it. Then one failing
 * location does not stop the others, and --json prints a list. Decided by the command line,
 * not by how many locations the file lists, so a script knows the shape it gets.
 */
function perLocation(values: string[] | undefined, file: ConfigFile | undefined): boolean {
  return (values?.length ?? 0) > 1 || (file !== undefined && !values?.length);
}

type LocationOutcome<T> = { location: string; result: T } | { location: string; error: string; hint?: string; exitCode: number };

/** Runs `work` at each location in turn; one that fails is reported and the rest still run. A cancellation stops them all. */
async function eachLocation<T>(dests: Destination[], what: string, work: (d: Destination, i: number) => Promise<T>, reporter: ConsoleReporter): Promise<LocationOutcome<T>[]> {
  const outcomes: LocationOutcome<T>[] = [];
  for (const [i, d] of dests.entries()) {
    try {
      outcomes.push({ location: d.display, result: await work(d, i) });
    } catch (err) {
      if (cancellation()) throw err;
      const known = err instanceof StrongboxError;
      const error = errorMessage(err);
      const hint = known ? err.hint : undefined;
      reporter.error(`${what} ${d.display} failed: ${error}${hint ? `\n  hint: ${hint}` : ''}`);
      outcomes.push({ location: d.display, error, hint, exitCode: known ? err.exitCode : ExitCode.failure });
    }
  }
  return outcomes;
}

/**
 * Copy to several tiers: a backup damaged at the source (3) wins, as it does for one tier;
 * else a tier that failed while another completed is a partial run (8); every tier failing
 * exits with the first one's code.
 */
function tiersExitCode(outcomes: LocationOutcome<CopyResult>[]): number {
  const done = outcomes.flatMap((x) => ('result' in x ? [x.result] : []));
  const failed = outcomes.flatMap((x) => ('error' in x ? [x] : []));
  const damaged = done.find((r) => r.exitCode !== ExitCode.ok);
  if (damaged) return damaged.exitCode;
  if (!failed.length) return ExitCode.ok;
  return done.length ? ExitCode.partial : failed[0]!.exitCode;
}

/** A collection's figures in list --json (without name: the artifact carries it). */
function collectionJson(a: Parameters<typeof collectionFigures>[0]) {
  const f = collectionFigures(a);
  if (!f) return {};
  const { name: _, ...figures } = f;
  return { collection: figures };
}

/** ` [1661 member(s), 2.0 GiB: 12 new (3.1 MiB), 1649 reused]` after a collection artifact in list. */
function collectionNote(a: Parameters<typeof collectionFigures>[0]): string {
  const f = collectionFigures(a);
  return f ? ` [${describeMembers(f)}]` : '';
}

function printPrune(result: PruneResult, indent = ''): void {
  const out = (line: string) => process.stdout.write(`${indent}${line}\n`);
  for (const s of result.series) {
    out(`series ${printable(s.name)}`);
    for (const k of result.kept.filter((x) => x.series === s.name)) out(`  keep   ${k.id} ${k.startedAt}  (${k.reasons.map(printable).join(', ')})`);
    for (const r of result.removed.filter((x) => x.series === s.name)) out(`  ${result.dryRun ? 'would remove' : 'remove'} ${r.id} ${r.startedAt}`);
  }
  for (const r of result.incompleteRemoved) out(`${result.dryRun ? 'would remove' : 'remove'} ${r} (incomplete)`);
  for (const r of result.retained) out(`retain ${r.id} (delete refused: ${r.reason})`);
  const packs = result.packs;
  // A real prune may collect thousands of packs: each is listed only when asked what would go.
  if (result.dryRun) for (const p of packs.removed) out(`would remove ${p.key} (${formatBytes(p.size)}, unreferenced pack)`);
  if (packs.removed.length || packs.young || packs.failed.length) {
    out(`packs: ${result.dryRun ? 'would remove' : 'removed'} ${packs.removed.length} unreferenced (${formatBytes(packs.bytes)}), ${packs.referenced} in use, ${packs.young} unreferenced but within the grace period${packs.failed.length ? `, ${packs.failed.length} could not be deleted` : ''}`);
  }
  if (packs.skipped) out(`packs: none collected: ${packs.skipped}`);
  for (const g of result.guarded) {
    out(`${g.forced ? 'guard overridden (--force)' : 'guarded'}: series ${printable(g.series)}, drop alert(s) on backup ${g.backup}: ${g.alerts.map((a) => a.message).join('; ')}`);
  }
}

/** A duration in a result line: `12.3 s`, as backup prints it. */
const seconds = (s: number) => `${s.toFixed(1)} s`;

export type { CliContext };

export function registerCommands(program: Command, ctx: CliContext): void {
  const { reporter, env } = ctx;

  program
    .command('keygen')
    .description('create an age identity (prints its public recipient age1… on stderr), or with --signing an SSH signing key')
    .option('-o, --output <file>', 'write the identity to FILE (mode 0600) instead of stdout')
    .option('--signing', 'create an Ed25519 signing key for manifests: FILE (OpenSSH private key) and FILE.pub (needs --output)')
    .action(async (o: { output?: string; signing?: boolean }) => {
      if (o.signing) {
        if (!o.output) throw new UsageError('keygen --signing needs --output FILE', 'it writes the private key to FILE and the public key to FILE.pub');
        const key = generateSigningKey('strongbox-signing');
        const pub = `${o.output}.pub`;
        for (const f of [o.output, pub]) await refuseExisting(f);
        await writeNew(o.output, formatPrivateKey(key), 0o600);
        try {
          await writeNew(pub, formatPublicKey(key.publicKey) + '\n', 0o644);
        } catch (err) {
          await rm(o.output, { force: true });
          throw err;
        }
        process.stderr.write(`Signing key: ${printable(o.output)} (keep it secret; backup --sign-key)\nPublic key: ${printable(pub)} (verify/restore/rollback --trust), fingerprint ${fingerprint(key.publicKey.raw)}\n`);
        return;
      }
      const { identity, recipient } = generateIdentity();
      const text = `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`;
      if (o.output) await writeNew(o.output, text, 0o600);
      else process.stdout.write(text);
      // The fingerprint is how `show` lists a backup's recipients: the key to match them against.
      process.stderr.write(`Public key: ${recipient}\nFingerprint: ${recipientFingerprint(recipient)} (show lists a backup's recipients by this)\n`);
    });

  storageOptions(
    program
      .command('init')
      .description('create a Strongbox repository (the last folder of a path under an existing parent, or a bucket prefix); nothing changes where one exists')
      .option('--to <dest>', 'where: a path, file://PATH, s3://bucket/prefix or a location name of --config (repeatable; default with --config: every destination and copy-to tier)', collect)
      .option('--config <file>', CONFIG_HELP)
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const dests = resolveInitConfig({ ...storage(o), to: o.to }, await configOf(o), env, reporter);
    const made = await initRepositories(dests, new Date(), (w) => reporter.warning(w));
    if (o.json) {
      printJson(dests.map((dest, i) => ({ destination: dest.display, created: made[i], format: FORMAT_VERSION })));
      return;
    }
    for (const [i, dest] of dests.entries()) {
      process.stdout.write(
        made[i]
          ? `created a Strongbox repository at ${describeLocation(dest)} (format ${FORMAT_VERSION})\n`
          : `${describeLocation(dest)} already holds a Strongbox repository; nothing changed\n`,
      );
    }
  });

  commonOptions(
    program
      .command('backup')
      .description('back up databases and file trees to one or more destinations; with --config FILE, what the file describes (flags override it). It does not copy or prune: then run strongbox copy/prune --config FILE')
      .option('--config <file>', 'a strongbox.yml: its sources, destinations, encryption, signing, labels, metadata, compression and lock settings apply unless a flag gives them (a list flag such as --to or any source flag replaces the file\'s list)')
      .option('--to <dest>', 'destination: a path, file://PATH, s3://bucket/prefix or the name of a location in --config (repeatable; default: the file\'s destinations)', collect, [])
      .option('--postgres <url>', 'PostgreSQL database URL to dump (repeatable)', collect, [])
      .option('--postgres-env <name>', 'environment variable holding a PostgreSQL URL to dump, keeping its password out of the process list (repeatable)', collect, [])
      .option('--mysql <url>', 'MySQL/MariaDB database URL to dump, mysql://user@host:port/db (repeatable)', collect, [])
      .option('--mysql-env <name>', 'environment variable holding a MySQL/MariaDB URL to dump (repeatable)', collect, [])
      .option('--sqlite <path>', 'SQLite database file to copy consistently (repeatable)', collect, [])
      .option('--files <path>', 'file tree to archive (repeatable)', collect, [])
      .option('--exclude <glob>', 'glob of paths to leave out of --files trees (repeatable)', collect, [])
      .option('--bucket <url>', 'S3 bucket (and prefix) to back up object by object, s3://bucket/prefix?endpoint=…&credentials=NAME (repeatable)', collect, [])
      .option('--all-versions', '--bucket: back up the non-current versions of a versioned bucket too')
      .option('--incremental', 'store --files trees as collections: unchanged files are referenced, not stored again')
      .addOption(new Option('--compare <how>', 'incremental trees and buckets: what says a member is unchanged: metadata (files: size, mtime, ctime, inode; objects: size,etag; default) or checksum (read everything)').choices(['metadata', 'checksum', 'size,etag']))
      .option('--state-dir <dir>', 'incremental trees and buckets: keep the list of what was backed up here, so the next run reads only what changed (without it: deduplicated against the repository)')
      .option('--content-key-env <name>', 'environment variable holding the secret that blob names are keyed with (default: derived from the recipients or passphrase)')
      .option('--allow-shrink', 'let a bucket listing that is empty or down more than 50 % through the delete shield')
      .option('--recipient <age1…>', 'age public key to encrypt to (repeatable)', collect, [])
      .option('--passphrase-env <name>', 'encrypt with the passphrase held in this environment variable')
      .option('--unencrypted', 'write a plaintext backup (refused unless given)')
      .option('--sign-key <file>', 'sign the manifest with this SSH signing key (strongbox keygen --signing)')
      .option('--init', 'create the repository first if the destination holds none (as `strongbox init` does)')
      .option('--label <label>', 'label to find the backup by, e.g. pre-release (repeatable; replaces the file\'s labels)', collect, [])
      .option('--meta <key=value>', 'record this in the manifest, e.g. --meta release=v1.4.2 (repeatable; merged over the file\'s metadata)', collect, [])
      .addOption(new Option('--compression <alg>', 'compression (default: zstd)').choices(['zstd', 'gzip', 'none']))
      .option('--level <n>', 'compression level (zstd 1-19, default 3; gzip 1-9, default 6)')
      .option('--deployed-sha <sha>', 'git sha of the release running against this data (what a rollback to this backup redeploys)')
      .option('--deployed-ref <ref>', 'git ref of that release, e.g. refs/tags/v1.4.1')
      .option('--db-lock-timeout <duration>', 'fail when a database lock held by another session (a PostgreSQL table lock, a MySQL swap, an SQLite writer) blocks the dump or restore for this long (default: 5m)')
      .option('--schema <pattern>', 'PostgreSQL: dump only schemas matching this pattern (repeatable; pg_dump --schema)', collect, [])
      .option('--exclude-schema <pattern>', 'PostgreSQL: leave out schemas matching this pattern (repeatable)', collect, [])
      .option('--table <pattern>', 'PostgreSQL: dump only tables matching this pattern, e.g. public.orders (repeatable; pg_dump --table)', collect, [])
      .option('--exclude-table <pattern>', 'PostgreSQL: leave out tables matching this pattern (repeatable)', collect, [])
      .option('--exclude-table-data <pattern>', "PostgreSQL: keep these tables' definitions but not their rows (repeatable)", collect, [])
      .option('--row-security', "PostgreSQL: dump with row-level security on (pg_dump --enable-row-security): a tenant role's dump holds only its rows")
      .addOption(new Option('--row-counts <mode>', "rows per table recorded in the manifest: exact (in the dump's snapshot, compared after a restore), estimate (planner statistics, not compared) or none (default: exact)").choices(['exact', 'estimate', 'none']))
      .option('--pg-bin <dir>', 'PostgreSQL: folder holding pg_dump/psql to prefer (else PATH, then /usr/lib/postgresql/*/bin)')
      .addOption(new Option('--confirm-upload <mode>', 'read each stored object back and check its SHA-256 (hash) or only its size (default: hash)').choices(['hash', 'size']))
      .option('--alert-size-change <pct>', "alert when an artifact's plaintext or stored size moves more than this against the median of its series' last backups (default 20%; 0 off)")
      .option('--alert-duration-change <pct>', 'alert when the backup takes this much longer than the median of its series (default 50%; 0 off)')
      .option('--alert-rows-drop <pct>', "alert when a table's exact row count, or a file tree's entry count, drops more than this (default 20%; 0 off)")
      .option('--fail-on-alert', 'exit 9 when the backup raised an alert (it stays committed)')
      .option('--no-fail-on-alert', "do not, whatever the file's alerts: { fail: true } says")
      .option('--quota <size>', "alert when a destination holds this share of SIZE (e.g. 200GB; each --to, over the file's quota:)")
      .option('--quota-alert <pct>', 'the share of the quota that raises the alert (default 80%)')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const file = o.config !== undefined ? await loadConfigFile(o.config) : undefined;
    const flags: BackupCommandSettings = {
      to: o.to,
      postgres: o.postgres,
      postgresEnv: o.postgresEnv,
      mysql: o.mysql,
      mysqlEnv: o.mysqlEnv,
      sqlite: o.sqlite,
      files: o.files,
      bucket: o.bucket,
      allVersions: o.allVersions ? true : undefined,
      exclude: o.exclude,
      incremental: !!o.incremental,
      compare: o.compare,
      stateDir: o.stateDir,
      contentKeyEnv: o.contentKeyEnv,
      allowShrink: !!o.allowShrink,
      rowCounts: o.rowCounts,
      postgresOptions: {
        schemas: o.schema,
        excludeSchemas: o.excludeSchema,
        tables: o.table,
        excludeTables: o.excludeTable,
        excludeTableData: o.excludeTableData,
        rowSecurity: !!o.rowSecurity,
        pgBin: o.pgBin,
      },
      recipients: o.recipient,
      passphraseEnv: o.passphraseEnv,
      unencrypted: !!o.unencrypted,
      signKeyFile: o.signKey,
      labels: o.label,
      meta: o.meta,
      compression: o.compression,
      level: o.level,
      confirm: o.confirmUpload,
      deployedSha: o.deployedSha,
      deployedRef: o.deployedRef,
      init: !!o.init,
      lockWait: o.lockWait,
      lockStale: o.lockStale,
      dbLockTimeout: o.dbLockTimeout,
      alertSizeChange: o.alertSizeChange,
      alertDurationChange: o.alertDurationChange,
      alertRowsDrop: o.alertRowsDrop,
      failOnAlert: o.failOnAlert,
      quota: o.quota,
      quotaAlert: o.quotaAlert,
      argv: true,
      ...storage(o),
    };
    const alerting = resolveAlertSettings(flags, file);
    const options = await resolveBackupConfig(flags, file, env, reporter);
    let result;
    try {
      result = await backup(options);
    } catch (err) {
      // The failure's notification says which backup and where (main.ts sends ctx.outcome with the error).
      ctx.outcome = failedBackupOutcome(err);
      throw err;
    }
    ctx.outcome = backupOutcome(result);
    // Committed at some destinations, failed at others: each failure said, and exit 8.
    for (const d of result.destinations) {
      if (d.status === 'failed') reporter.warning(`backup ${result.id} was NOT committed at ${d.location}: ${d.error}${d.hint ? `\n  ${d.hint}` : ''}`);
    }
    if (result.status === 'partial') ctx.exitCode = ExitCode.partial;
    // Only where this backup committed: a warning, never a failure.
    const committed = backupLocations(options, flags, file).filter((_, i) => result.destinations[i]?.status === 'committed');
    const quota = await checkQuotas(quotaTargets(committed, alerting.quotaBytes), reporter, alerting.quotaAlertPercent);
    const alerts = [...result.alerts, ...quota.flatMap((q) => (q.alert ? [q.alert] : []))];
    if (alerts.length) ctx.outcome = { ...ctx.outcome, alerts };
    // After the commit: the backup stays, the exit says it needs a look (a partial run's 8 stays).
    if (alerts.length && alerting.failOnAlert && ctx.exitCode === 0) ctx.exitCode = ExitCode.alert;
    // The CLI backup only backs up: say what the file asks for that is left to the next commands.
    const left = file ? [...(file.copyTo.length ? ['copy'] : []), ...([...file.destinations, ...file.copyTo].some((l) => l.retention) ? ['prune'] : [])] : [];
    if (left.length) {
      reporter.info(`backup ${result.id} was not ${left.map((c) => (c === 'copy' ? 'copied' : 'pruned')).join(' or ')}: then run ${left.map((c) => `strongbox ${c} --config ${printable(file!.path)}`).join(' and ')}`);
    }
    if (o.json) {
      printJson({
        id: result.id,
        status: result.status,
        labels: result.manifest.labels,
        destinations: result.destinations,
        plaintextBytes: result.plaintextBytes,
        storedBytes: result.storedBytes,
        durationSeconds: result.durationSeconds,
        signedBy: options.signingKey ? fingerprint(options.signingKey.publicKey.raw) : null,
        artifacts: result.manifest.artifacts.map((a) => ({ name: a.name, kind: a.kind, key: a.key, plaintextBytes: a.plaintext.size, storedBytes: a.stored.size, storedSha256: a.stored.sha256 })),
        quota,
        alerts,
      });
    } else process.stdout.write(`${result.id}\n`);
  });

  storageOptions(
    program
      .command('list')
      .description('list complete (and damaged) backups, oldest first')
      .option('--from <dest>', 'where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)')
      .option('--config <file>', CONFIG_HELP)
      .option('--label <label>', 'only backups with this label')
      .option('--all', 'also show incomplete (interrupted) backups')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const { destination: dest, label, all } = resolveListConfig({ ...storage(o), from: o.from, label: o.label, all: o.all }, await configOf(o), env, reporter);
    const entries = (await listBackups(dest, reporter)).filter(
      // A damaged backup is shown even without --all: hiding it would hide a lost backup.
      (e) => (all || e.complete || !!e.damaged) && (!label || e.manifest?.labels.includes(label)),
    );
    const signatures = new Map(await Promise.all(entries.filter((e) => e.complete).map(async (e) => [e.id, await readSignatureStatus(dest, e)] as const)));
    if (o.json) {
      printJson(
        entries.map((e) => ({
          id: e.id,
          complete: e.complete,
          ...(e.damaged ? { damaged: e.damaged } : {}),
          startedAt: e.manifest?.startedAt,
          labels: e.manifest?.labels ?? [],
          storedBytes: e.manifest?.artifacts.reduce((n, a) => n + a.stored.size, 0),
          artifacts: e.manifest?.artifacts.map((a) => ({ name: a.name, kind: a.kind, from: sourceIdentity(a) || undefined, ...collectionJson(a) })) ?? [],
          ...(e.manifest ? releaseJson(e.manifest.origin) : {}),
          ...(e.complete ? signatureJson(signatures.get(e.id)) : { signedBy: null }),
        })),
      );
      return;
    }
    if (!entries.length) reporter.info(`no backups at ${dest.display}`);
    for (const e of entries) {
      const size = e.manifest ? `  ${formatBytes(e.manifest.artifacts.reduce((n, a) => n + a.stored.size, 0))}` : '';
      const sig = signatures.get(e.id);
      const from = e.manifest ? `  ${e.manifest.artifacts.map((a) => describeArtifact(a) + collectionNote(a)).join(', ')}` : '';
      process.stdout.write(`${describeBackup(e)}${size}${sig?.signed ? `  ${describeSignature(sig, false)}` : ''}${from}\n`);
    }
  });

  commonOptions(
    program
      .command('verify')
      .description('check that a backup is present and intact (and, with --deep, that it decrypts); with several --from, also that every location holds it with the same SHA-256s')
      .option('--from <dest>', 'where the backups are (repeatable: the backup is resolved at the first and must be identical at every one; default with --config: every destination of the file)', collect)
      .option('--config <file>', CONFIG_HELP)
      .option('--backup <selector>', 'backup id, latest, or label:NAME (default: latest)')
      .option('--deep', 'also decrypt and decompress, checking the plaintext SHA-256 (the key: the flags below, else decryption: of --config)')
      .option('--identity-file <file>', 'age identity file (implies --deep)')
      .option('--passphrase-env <name>', 'environment variable holding the passphrase (implies --deep)')
      .option('--trust <file.pub>', 'require the manifest to be signed by this key (repeatable; replaces trust: of --config)', collect, [])
      .option('--max-age <duration>', 'fail if the backup is older than this, e.g. 26h')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const { destinations, destination, ...options } = await resolveVerifyConfig(
      { ...readFlags(o), from: o.from, deep: o.deep, maxAge: o.maxAge },
      await configOf(o),
      env,
      reporter,
    );
    if (destinations.length > 1) {
      const across = await verifyAcross({ ...options, destinations });
      ctx.outcome = verifyAcrossOutcome(across);
      if (o.json) printJson(across);
      if (across.ok) reporter.info(`OK: backup ${across.backupId} verified at ${destinations.length} locations, identical SHA-256s${across.locations[0]?.result?.deep ? ' (deep)' : ''}, in ${seconds(across.durationSeconds)}`);
      else {
        const bad = across.locations.filter((l) => !l.result?.ok || across.problems.some((p) => p.location === l.location)).map((l) => l.location);
        reporter.error(`backup ${across.backupId} failed verification across locations at ${bad.join(', ')}: listed above (checked in ${seconds(across.durationSeconds)})`);
        ctx.exitCode = across.exitCode;
      }
      return;
    }
    const result = await verify({ ...options, destination });
    ctx.outcome = verifyOutcome(result, destination.display);
    if (o.json) printJson(result);
    if (result.ok) reporter.info(`OK: backup ${result.backupId} verified${result.deep ? ' (deep)' : ''}${options.trusted ? `, signed by trusted key ${result.signature.signer}` : ''}, in ${seconds(result.durationSeconds)}`);
    else {
      // Each problem was printed as it was found; one summary line, not a second copy.
      reporter.error(`backup ${result.backupId} failed verification: ${result.problems.length} problem(s), listed above (checked in ${seconds(result.durationSeconds)})`);
      ctx.exitCode = result.exitCode;
    }
  });

  commonOptions(
    program
      .command('copy')
      .description('copy complete backups from one repository to others (a NAS, another bucket or provider) as stored bytes, no key needed; backups already there are skipped')
      .option('--from <src>', 'where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)')
      .option('--to <dst>', 'the repository to copy them to (repeatable; default with --config: its copy-to tiers)', collect)
      .option('--config <file>', CONFIG_HELP)
      .option('--backup <selector>', 'backup id, latest, or label:NAME (repeatable)', collect, [])
      .option('--all', 'every complete backup at --from')
      .option('--new', 'every complete backup newer than the newest one of its series at --to (the default with --config when no --backup, --label or --all is given): a nightly tier copy that catches up missed nights but never re-copies what the tier pruned')
      .option('--label <label>', 'every complete backup with this label (repeatable)', collect, [])
      .option('--init', 'create the repository at --to first if it holds none (as `strongbox init` does)')
      .addOption(new Option('--confirm-upload <mode>', 'read each copied object back and check its SHA-256 (hash, the default) or only its size').choices(['hash', 'size']))
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const file = await configOf(o);
    const cfg = resolveCopyConfig(
      { ...storage(o), ...lockFlags(o), from: o.from, to: o.to, backups: o.backup, all: o.all, newer: o.new, labels: o.label, init: o.init, confirm: o.confirmUpload },
      file,
      env,
      reporter,
    );
    const copyTo = (destination: Destination) =>
      copy({ source: cfg.from, destination, selectors: cfg.selectors, all: cfg.all, newer: cfg.newer, groupBy: cfg.groupBy, labels: cfg.labels, confirm: cfg.confirm, init: cfg.init, reporter, lock: cfg.lock });
    const report = (result: CopyResult, indent = '') => {
      if (!o.json) for (const b of result.backups) process.stdout.write(`${indent}${b.status} ${b.id}${b.status === 'copied' ? ` ${formatBytes(b.bytes)}` : ''}\n`);
      if (result.failed) reporter.error(`${result.failed} backup(s) not copied to ${result.destination}, listed above`);
    };
    // One tier named on the command line: the single copy as ever (its failure is the run's).
    if (!perLocation(o.to, file)) {
      const result = await copyTo(cfg.to[0]!);
      ctx.outcome = copyOutcome([{ location: result.destination, result }]);
      if (o.json) printJson(result);
      report(result);
      if (result.failed) ctx.exitCode = result.exitCode;
      return;
    }
    if (!cfg.to.length) {
      reporter.info(`nothing to copy: ${printable(file!.path)} lists no copy-to: tiers`);
      if (o.json) printJson([]);
      return;
    }
    const outcomes = await eachLocation(cfg.to, 'copy to', copyTo, reporter);
    ctx.outcome = copyOutcome(outcomes);
    if (o.json) printJson(outcomes.map((x) => ('result' in x ? x.result : { source: cfg.from.display, destination: x.location, error: x.error, hint: x.hint, exitCode: x.exitCode })));
    for (const x of outcomes) {
      if (!('result' in x)) continue;
      if (!o.json) process.stdout.write(`to ${x.location}\n`);
      report(x.result, '  ');
    }
    ctx.exitCode = tiersExitCode(outcomes);
  });

  commonOptions(
    program
      .command('restore')
      .description('restore a backup into a database and/or a directory')
      .option('--from <dest>', 'where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)')
      .option('--config <file>', CONFIG_HELP)
      .option('--backup <selector>', 'backup id, latest, or label:NAME (default: latest)')
      .option('--identity-file <file>', 'age identity file (default with --config: its decryption:)')
      .option('--passphrase-env <name>', 'environment variable holding the passphrase')
      .option('--trust <file.pub>', 'refuse a backup not signed by this key (repeatable; replaces trust: of --config)', collect, [])
      .option('--postgres-target <url>', 'database to restore the PostgreSQL artifact into')
      .option('--postgres-target-env <name>', 'environment variable holding that database URL (keeps its password out of the process list)')
      .option('--mysql-target <url>', 'MySQL/MariaDB database to restore the MySQL artifact into')
      .option('--mysql-target-env <name>', 'environment variable holding that database URL')
      .option('--sqlite-target <path>', 'file to restore the SQLite artifact into')
      .option('--files-target <dir>', 'directory to restore the file-tree artifact into')
      .option('--bucket-target <url>', 'S3 bucket (and prefix) to write a bucket backup\'s objects into, with their content types and metadata')
      .option('--only <name>', 'restore only this artifact (repeatable)', collect, [])
      .option('--path <glob>', 'restore only the entries (files) or members (objects) matching GLOB, a folder with all it holds, INTO the target: equal files are left alone, differing ones need --force (repeatable)', collect, [])
      .option('--dry-run', 'list what would be written, replaced or left alone; write nothing')
      .option('--before <time>', 'among matching backups, the newest taken before this time (or git sha)')
      .option('--force', 'replace a non-empty target (with --path: replace the files that differ)')
      .option('--db-lock-timeout <duration>', DB_LOCK_TIMEOUT_HELP)
      .option('--pg-bin <dir>', 'PostgreSQL: folder holding pg_restore/psql to prefer (else PATH, then /usr/lib/postgresql/*/bin)')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const options = await resolveRestoreConfig(
      { ...readFlags(o), from: o.from, ...targetFlags(o), only: o.only, paths: o.path, dryRun: o.dryRun, before: o.before, force: o.force, dbLockTimeout: o.dbLockTimeout, pgBin: o.pgBin },
      await configOf(o),
      env,
      reporter,
    );
    const result = await restore(options);
    ctx.outcome = restoreOutcome(result);
    if (o.json) printJson({ backupId: result.backupId, restored: result.restored, durationSeconds: result.durationSeconds, ...(result.dryRun ? { dryRun: true } : {}), ...releaseJson(result.manifest.origin) });
    else if (options.dryRun || options.paths?.length) printWritten(result);
  });

  commonOptions(
    program
      .command('prune')
      .description('delete backups that no retention rule keeps; the rules apply per series (--group-by), and the newest complete backup of every series always stays')
      .option('--from <dest>', 'where the backups are (repeatable; default with --config: every destination and copy-to tier that has a retention:)', collect)
      .option('--config <file>', CONFIG_HELP)
      .option('--keep-last <n>', 'keep the N newest backups')
      .option('--keep-hourly <n>', 'keep the newest backup of each of the last N hours (UTC) that have one')
      .option('--keep-daily <n>', 'keep the newest backup of each of the last N days that have one')
      .option('--keep-weekly <n>', 'keep the newest backup of each of the last N ISO weeks that have one')
      .option('--keep-monthly <n>', 'keep the newest backup of each of the last N months that have one')
      .option('--keep-yearly <n>', 'keep the newest backup of each of the last N years that have one')
      .option('--keep-within <duration>', 'keep every backup taken within DURATION of the newest one')
      .option('--keep-label <label>', 'keep every backup with this label (repeatable)', collect, [])
      .option('--group-by <what>', 'apply the rules to each series separately: sources (set of artifact names), labels, sources,labels or none (default: sources)')
      .option('--incomplete-grace <duration>', 'remove incomplete (interrupted) backups only when older than this (default: 24h)')
      .option('--dry-run', 'show what would be deleted, delete nothing')
      .option('--force', "prune even a series the retention guard holds (the newest backup of its data carries a size, row or entry-count drop alert)")
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const file = await configOf(o);
    const plan = resolvePruneConfig(
      {
        ...storage(o),
        ...lockFlags(o),
        from: o.from,
        keepLast: o.keepLast,
        keepHourly: o.keepHourly,
        keepDaily: o.keepDaily,
        keepWeekly: o.keepWeekly,
        keepMonthly: o.keepMonthly,
        keepYearly: o.keepYearly,
        keepWithin: o.keepWithin,
        keepLabels: o.keepLabel,
        groupBy: o.groupBy,
        incompleteGrace: o.incompleteGrace,
        dryRun: o.dryRun,
        force: !!o.force,
      },
      file,
      env,
      reporter,
    );
    const run = ({ policyFrom: _from, config: _config, ...options }: PruneConfig) => prune(options);
    if (!perLocation(o.from, file)) {
      const result = await run(plan[0]!);
      ctx.outcome = pruneOutcome([{ location: plan[0]!.destination.display, result }]);
      if (o.json) printJson(result);
      else printPrune(result);
      return;
    }
    for (const l of file ? [...file.destinations, ...file.copyTo] : []) {
      if (!plan.some((p) => p.config === l)) reporter.info(`${l.name ?? printable(l.url)} is not pruned: it has no retention: in ${printable(file!.path)}`);
    }
    const outcomes = await eachLocation(plan.map((p) => p.destination), 'prune of', (_d, i) => run(plan[i]!), reporter);
    ctx.outcome = pruneOutcome(outcomes);
    if (o.json) printJson(outcomes.map((x, i) => ('result' in x ? { location: x.location, policyFrom: plan[i]!.policyFrom, ...x.result } : x)));
    else {
      for (const [i, x] of outcomes.entries()) {
        if (!('result' in x)) continue;
        process.stdout.write(`location ${x.location} (${plan[i]!.policyFrom === 'file' ? `retention: of ${printable(file?.path ?? '')}` : 'the --keep-* flags'})\n`);
        printPrune(x.result, '  ');
      }
    }
    // One location failing (unreachable, locked) does not spare the others; the run exits with its code.
    const failed = outcomes.find((x) => 'error' in x);
    if (failed && 'error' in failed) ctx.exitCode = failed.exitCode;
  });

  commonOptions(
    program
      .command('rollback')
      .description('restore the snapshot taken before a release, after a verified safety backup of the current state')
      .option('--from <dest>', 'where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)')
      .option('--config <file>', CONFIG_HELP)
      .requiredOption('--backup <selector>', 'backup id, latest, or label:NAME (must match one backup)')
      .option('--before <sha|time>', 'among matching backups, the one taken before this git sha or time')
      .option('--identity-file <file>', 'age identity file (its recipient also encrypts the safety backup; default with --config: its decryption:)')
      .option('--passphrase-env <name>', 'environment variable holding the passphrase')
      .option('--recipient <age1…>', 'also encrypt the safety backup to this recipient (repeatable; replaces encryption.recipients of --config)', collect, [])
      .option('--trust <file.pub>', 'refuse a snapshot not signed by this key (repeatable; replaces trust: of --config)', collect, [])
      .option('--sign-key <file>', 'sign the safety backup with this SSH signing key (default with --config: its signing:)')
      .option('--postgres-target <url>', 'database to roll back')
      .option('--postgres-target-env <name>', 'environment variable holding that database URL (keeps its password out of the process list)')
      .option('--mysql-target <url>', 'MySQL/MariaDB database to roll back')
      .option('--mysql-target-env <name>', 'environment variable holding that database URL')
      .option('--sqlite-target <path>', 'SQLite database file to roll back')
      .option('--files-target <dir>', 'directory to roll back')
      .requiredOption('--confirm <name>', 'repeat the target database name (or the files target folder name)')
      .option('--check-sql <sql>', 'after the rollback, this SQL must succeed and return rows (repeatable)', collect, [])
      .option('--check-file <path>', 'after the rollback, this path (relative to --files-target) must exist')
      .option('--db-lock-timeout <duration>', DB_LOCK_TIMEOUT_HELP)
      .option('--pg-bin <dir>', 'PostgreSQL: folder holding pg_dump/pg_restore/psql to prefer (else PATH, then /usr/lib/postgresql/*/bin)')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const options = await resolveRollbackConfig(
      {
        ...readFlags(o),
        from: o.from,
        ...targetFlags(o),
        before: o.before,
        recipients: o.recipient,
        signKeyFile: o.signKey,
        confirm: o.confirm,
        checkSql: o.checkSql,
        checkFile: o.checkFile,
        dbLockTimeout: o.dbLockTimeout,
        pgBin: o.pgBin,
      },
      await configOf(o),
      env,
      reporter,
    );
    const result = await rollback(options);
    ctx.outcome = rollbackOutcome(result);
    if (o.json) printJson(result);
    else process.stdout.write(`rolled back to ${result.backupId}${result.gitSha ? ` (redeploy git ${result.gitSha})` : ''}; safety backup ${result.safetyBackupId}; took ${seconds(result.durationSeconds)}\n`);
    if (result.checks.some((c) => !c.ok)) ctx.exitCode = ExitCode.verifyFailed;
  });
  registerHistoryCommand(program, ctx);
  registerShowCommand(program, ctx);
  registerDrillCommand(program, ctx);
  const config = program.command('config').description('work with a strongbox.yml configuration file');
  config
    .command('check')
    .description('check a configuration file and print it as the commands will read it (secrets are only named, never shown); exit 2 on any problem')
    .requiredOption('--config <file>', 'the configuration file, e.g. strongbox.yml')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (o: { config: string; json?: boolean }) => {
      let file;
      try {
        file = await loadConfigFile(o.config);
      } catch (err) {
        if (o.json && err instanceof ConfigFileError) printJson({ file: err.file, ok: false, problems: err.problems });
        throw err;
      }
      const description = describeConfig(file, env);
      if (o.json) printJson(description);
      else process.stdout.write(formatDescription(description));
      const unset = description.environment.filter((v) => !v.set);
      if (unset.length) reporter.warning(`${unset.length} environment variable(s) the file names are not set here: ${unset.map((v) => v.name).join(', ')} (fine on a machine that does not run the backup)`);
    });
}
